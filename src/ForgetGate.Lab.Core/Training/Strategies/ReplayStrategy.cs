using System.Globalization;
using System.Text;
using ForgetGate.Lab.Numerics.Random;

namespace ForgetGate.Lab.Core.Training.Strategies;

/// <summary>
/// Experience replay: a reservoir buffer of K sample references from past tasks' training data;
/// once it holds anything, a fixed share of every batch is drawn from it.
/// </summary>
internal sealed class ReplayStrategy : ContinualStrategy
{
    private readonly ReservoirBuffer _buffer;
    private readonly double _fraction;

    public ReplayStrategy(int bufferSize, double replayFraction)
    {
        if (replayFraction is <= 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(replayFraction), replayFraction, "Replay fraction must lie in (0, 1).");
        }

        _buffer = new ReservoirBuffer(bufferSize);
        _fraction = replayFraction;
    }

    public override string Kind => "replay";

    internal ReservoirBuffer Buffer => _buffer;

    public override int CurrentPerBatch(int task, int batchSize) =>
        HasPast(task) ? Math.Max(1, batchSize - ReplayCount(batchSize)) : batchSize;

    public override void ExtendBatch(int task, int epoch, int batch, int batchSize, Rng root, List<SampleRef> samples)
    {
        if (!HasPast(task))
        {
            return;
        }

        int k = batchSize - samples.Count;
        var rng = root.Split($"replay/{task}/{epoch}/{batch}");
        for (int i = 0; i < k; i++)
        {
            samples.Add(_buffer[rng.NextInt(_buffer.Count)]);
        }
    }

    public override void AfterBatch(int task, int epoch, int batch, ReadOnlySpan<SampleRef> current, ReadOnlySpan<float> currentOutputs, Rng root)
    {
        // Each training sample is offered once, in its task's first epoch.
        if (epoch != 0)
        {
            return;
        }

        var rng = root.Split($"reservoir/{task}/{batch}");
        foreach (var s in current)
        {
            _buffer.Offer(s, rng);
        }
    }

    public override StrategyFigures Figures => new(_buffer.Count, (long)_buffer.Count * SampleRefBytes, (long)_buffer.Count * SampleRefBytes);

    /// <summary>A buffer entry is a reference (task, index): two ints, never a copy of the sample.</summary>
    internal const int SampleRefBytes = 2 * sizeof(int);

    public override void Save(IDictionary<string, float[]> tensors, IDictionary<string, string> metadata)
    {
        var sb = new StringBuilder();
        foreach (var s in _buffer.Items)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{s.Task}:{s.Index};");
        }

        metadata["replay.seen"] = _buffer.Seen.ToString(CultureInfo.InvariantCulture);
        metadata["replay.buffer"] = sb.ToString();
    }

    public override void Load(IReadOnlyDictionary<string, float[]> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        if (!metadata.TryGetValue("replay.seen", out var seenText) || !metadata.TryGetValue("replay.buffer", out var bufferText))
        {
            throw new InvalidDataException("Checkpoint lacks the replay buffer (metadata 'replay.seen' / 'replay.buffer').");
        }

        var items = new List<SampleRef>();
        foreach (var entry in bufferText.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            int colon = entry.IndexOf(':', StringComparison.Ordinal);
            items.Add(new SampleRef(
                int.Parse(entry.AsSpan(0, colon), CultureInfo.InvariantCulture),
                int.Parse(entry.AsSpan(colon + 1), CultureInfo.InvariantCulture)));
        }

        _buffer.Restore(long.Parse(seenText, CultureInfo.InvariantCulture), items);
    }

    private bool HasPast(int task) => task > 0 && _buffer.Count > 0;

    private int ReplayCount(int batchSize) => (int)Math.Round(batchSize * _fraction, MidpointRounding.AwayFromZero);
}
