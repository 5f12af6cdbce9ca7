using System.Globalization;
using System.Text;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Random;

namespace ForgetGate.Lab.Core.Training.Strategies;

/// <summary>
/// A-GEM's and GEM's episodic memory: M references per finished task, drawn uniformly from that task's training
/// samples when it ends (GEM's code keeps the last M samples of the stream; with a shuffled stream both are a
/// uniform draw). References only: the task sequence builds the (permuted, rotated …) sample when a batch is made.
/// </summary>
internal sealed class EpisodicMemory
{
    private readonly List<SampleRef[]> _tasks = [];

    public EpisodicMemory(int perTask)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(perTask, 1);
        PerTask = perTask;
    }

    public int PerTask { get; }

    /// <summary>Tasks with a memory (the finished ones).</summary>
    public int TaskCount => _tasks.Count;

    public int Count => _tasks.Sum(t => t.Length);

    public IReadOnlyList<SampleRef> Task(int k) => _tasks[k];

    /// <summary>Stores M samples of a finished task (sorted by index, so a memory batch reads in file order).</summary>
    public void Add(int task, int trainCount, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (task != _tasks.Count)
        {
            throw new InvalidOperationException($"Episodic memory holds {_tasks.Count} tasks; task {task} cannot be added next.");
        }

        var indices = new int[trainCount];
        for (int i = 0; i < trainCount; i++)
        {
            indices[i] = i;
        }

        rng.Shuffle<int>(indices);
        int m = Math.Min(PerTask, trainCount);
        var chosen = indices.AsSpan(0, m).ToArray();
        Array.Sort(chosen);
        _tasks.Add(chosen.Select(i => new SampleRef(task, i)).ToArray());
    }

    /// <summary>A uniform draw of n samples without replacement from all tasks' memories, grouped by task.</summary>
    public List<SampleRef> Sample(int n, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var all = _tasks.SelectMany(t => t).ToArray();
        int m = Math.Min(n, all.Length);
        for (int i = 0; i < m; i++)
        {
            int j = i + rng.NextInt(all.Length - i);
            (all[i], all[j]) = (all[j], all[i]);
        }

        var chosen = all.AsSpan(0, m).ToArray();
        Array.Sort(chosen, (a, b) => a.Task != b.Task ? a.Task.CompareTo(b.Task) : a.Index.CompareTo(b.Index));
        return [.. chosen];
    }

    public void Save(string key, IDictionary<string, string> metadata)
    {
        var sb = new StringBuilder();
        foreach (var t in _tasks)
        {
            foreach (var s in t)
            {
                sb.Append(CultureInfo.InvariantCulture, $"{s.Task}:{s.Index};");
            }

            sb.Append('|');
        }

        metadata[key] = sb.ToString();
    }

    public void Load(string key, IReadOnlyDictionary<string, string> metadata)
    {
        if (!metadata.TryGetValue(key, out var text))
        {
            throw new InvalidDataException($"Checkpoint lacks the episodic memory (metadata '{key}').");
        }

        _tasks.Clear();
        foreach (var part in text.Split('|', StringSplitOptions.RemoveEmptyEntries))
        {
            _tasks.Add(SampleRefText.Parse(part).ToArray());
        }
    }
}

/// <summary>Sample references as text "task:index;…" in checkpoint metadata.</summary>
internal static class SampleRefText
{
    public static List<SampleRef> Parse(string text)
    {
        var items = new List<SampleRef>();
        foreach (var entry in text.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            int colon = entry.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0
                || !int.TryParse(entry.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out int task)
                || !int.TryParse(entry.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int index))
            {
                throw new InvalidDataException($"Checkpoint sample reference '{entry}' is not 'task:index'.");
            }

            items.Add(new SampleRef(task, index));
        }

        return items;
    }
}

/// <summary>All parameters' gradients as one vector and back.</summary>
internal static class FlatGradient
{
    public static int Length(IReadOnlyList<Parameter> parameters) => parameters.Sum(p => p.Length);

    public static void Gather(IReadOnlyList<Parameter> parameters, Span<float> destination)
    {
        int at = 0;
        foreach (var p in parameters)
        {
            p.Gradient.AsSpan().CopyTo(destination.Slice(at, p.Length));
            at += p.Length;
        }
    }

    public static void Scatter(ReadOnlySpan<float> source, IReadOnlyList<Parameter> parameters)
    {
        int at = 0;
        foreach (var p in parameters)
        {
            source.Slice(at, p.Length).CopyTo(p.Gradient);
            at += p.Length;
        }
    }
}
