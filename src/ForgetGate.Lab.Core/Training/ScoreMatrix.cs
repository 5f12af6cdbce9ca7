using System.Globalization;

namespace ForgetGate.Lab.Core.Training;

/// <summary>
/// R[i, j]: the score of task j after task i's last epoch, row 0 the untrained model (DESIGN.md §6); NaN until
/// measured. Carried through checkpoints as one line of round-trip invariant numbers, row by row.
/// </summary>
internal sealed class ScoreMatrix
{
    private readonly double[,] _scores;
    private readonly int _tasks;

    public ScoreMatrix(int tasks)
    {
        _tasks = tasks;
        _scores = new double[tasks + 1, tasks];
        for (int i = 0; i <= tasks; i++)
        {
            for (int j = 0; j < tasks; j++)
            {
                _scores[i, j] = double.NaN;
            }
        }
    }

    public double this[int afterTask, int task]
    {
        get => _scores[afterTask, task];
        set => _scores[afterTask, task] = value;
    }

    /// <summary>A copy for the run's outcome.</summary>
    public double[,] ToArray() => (double[,])_scores.Clone();

    /// <summary>The checkpoint form: every value with "R", row by row, separated by spaces.</summary>
    public string Serialize() => string.Join(' ', _scores.Cast<double>().Select(v => v.ToString("R", CultureInfo.InvariantCulture)));

    /// <summary>Restores the values written by <see cref="Serialize"/>; <paramref name="path"/> names the checkpoint in errors.</summary>
    public void Deserialize(string? text, string path)
    {
        var scores = text is null ? [] : text.Split(' ');
        if (scores.Length != _scores.Length)
        {
            throw new InvalidDataException($"Checkpoint '{path}' holds {scores.Length} scores; this run has {_scores.Length} (tasks do not match).");
        }

        for (int k = 0; k < scores.Length; k++)
        {
            _scores[k / _tasks, k % _tasks] = double.Parse(scores[k], CultureInfo.InvariantCulture);
        }
    }
}
