using System.Globalization;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Random;

namespace ForgetGate.Lab.Core.Training.Strategies;

/// <summary>
/// What A-GEM and GEM share: an episodic memory of M sample references per finished task, the flat gradient g the
/// projection works on, the counts of steps with a reference and of projected steps (the report's projected share),
/// and their checkpoint state under the strategy's <see cref="ContinualStrategy.Kind"/> prefix
/// (<c>&lt;kind&gt;.memory</c>, <c>&lt;kind&gt;.steps</c>, <c>&lt;kind&gt;.projected</c>).
/// </summary>
internal abstract class EpisodicProjectionStrategy : ContinualStrategy
{
    protected EpisodicProjectionStrategy(IReadOnlyList<Parameter> parameters, int memoryPerTask)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Parameters = parameters;
        Memory = new EpisodicMemory(memoryPerTask);
        Gradient = new float[FlatGradient.Length(parameters)];
    }

    protected IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>The step's gradient g, flattened over the parameters.</summary>
    protected float[] Gradient { get; }

    internal EpisodicMemory Memory { get; }

    /// <summary>Steps whose gradient was projected, and steps with a reference (for the report).</summary>
    internal long Projected { get; private protected set; }

    internal long Steps { get; private protected set; }

    /// <summary>Working vectors of the parameters' size this strategy holds, g included.</summary>
    protected abstract int FlatBuffers { get; }

    public override StrategyFigures Figures
    {
        get
        {
            long bytes = (long)Memory.Count * ReplayStrategy.SampleRefBytes;
            return new(Memory.Count, bytes, bytes + (sizeof(float) * (long)(FlatBuffers * Gradient.Length)), Steps == 0 ? double.NaN : Projected / (double)Steps);
        }
    }

    public override void AfterTask(int task, Rng root, IStrategyModel model)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(model);
        Memory.Add(task, model.Data.Count(task, DataSplit.Train), root.Split($"memory/{task}"));
    }

    public override void Save(IDictionary<string, float[]> tensors, IDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        Memory.Save($"{Kind}.memory", metadata);
        metadata[$"{Kind}.steps"] = Steps.ToString(CultureInfo.InvariantCulture);
        metadata[$"{Kind}.projected"] = Projected.ToString(CultureInfo.InvariantCulture);
    }

    public override void Load(IReadOnlyDictionary<string, float[]> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        Memory.Load($"{Kind}.memory", metadata);
        if (!metadata.TryGetValue($"{Kind}.steps", out var steps) || !metadata.TryGetValue($"{Kind}.projected", out var projected))
        {
            throw new InvalidDataException($"Checkpoint lacks the projection counts (metadata '{Kind}.steps' / '{Kind}.projected').");
        }

        Steps = long.Parse(steps, CultureInfo.InvariantCulture);
        Projected = long.Parse(projected, CultureInfo.InvariantCulture);
    }
}
