using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Random;

namespace ForgetGate.Lab.Core.Training.Strategies;

/// <summary>
/// Averaged GEM (Chaudhry, Ranzato, Rohrbach &amp; Elhoseiny 2019). An episodic memory of M samples per finished task;
/// each step g_ref is the task-loss gradient on a uniform draw of S memory samples, and when g·g_ref &lt; 0 the step's
/// gradient is projected: g ← g − (g·g_ref / g_ref·g_ref)·g_ref. Defaults M = 256 (GEM's, so A-GEM and GEM compare at
/// equal memory; the A-GEM paper stores 250 per task) and S = 256 (the A-GEM paper's reference batch).
/// </summary>
internal sealed class AgemStrategy : ContinualStrategy
{
    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly EpisodicMemory _memory;
    private readonly int _referenceBatch;
    private readonly float[] _reference;
    private readonly float[] _gradient;
    private bool _hasReference;

    public AgemStrategy(IReadOnlyList<Parameter> parameters, int memoryPerTask, int referenceBatch)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentOutOfRangeException.ThrowIfLessThan(referenceBatch, 1);
        _parameters = parameters;
        _memory = new EpisodicMemory(memoryPerTask);
        _referenceBatch = referenceBatch;
        _reference = new float[FlatGradient.Length(parameters)];
        _gradient = new float[_reference.Length];
    }

    public override string Kind => "agem";

    /// <summary>Working vectors of the parameters' size: g_ref and g.</summary>
    private const int FlatBuffers = 2;

    internal EpisodicMemory Memory => _memory;

    /// <summary>Steps whose gradient was projected, and steps with a reference (for the report).</summary>
    internal long Projected { get; private set; }

    internal long Steps { get; private set; }

    public override int ModelRows(int batchSize) => _referenceBatch;

    public override StrategyFigures Figures
    {
        get
        {
            long bytes = (long)_memory.Count * ReplayStrategy.SampleRefBytes;
            return new(_memory.Count, bytes, bytes + (sizeof(float) * (long)(FlatBuffers * _gradient.Length)), Steps == 0 ? double.NaN : Projected / (double)Steps);
        }
    }

    public override void BeforeStep(int task, int epoch, int batch, Rng root, IStrategyModel model)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(model);
        _hasReference = false;
        if (_memory.Count == 0)
        {
            return;
        }

        var refs = _memory.Sample(_referenceBatch, root.Split($"agem/{task}/{epoch}/{batch}"));
        model.LossGradient(refs);
        FlatGradient.Gather(_parameters, _reference);
        _hasReference = true;
    }

    public override double AdjustGradients(IReadOnlyList<Parameter> parameters)
    {
        if (!_hasReference)
        {
            return 0;
        }

        _hasReference = false;
        FlatGradient.Gather(_parameters, _gradient);
        Steps++;
        if (GradientProjection.ProjectAgem(_gradient, _reference))
        {
            Projected++;
            FlatGradient.Scatter(_gradient, _parameters);
        }

        return 0;
    }

    public override void AfterTask(int task, Rng root, IStrategyModel model)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(model);
        _memory.Add(task, model.Data.Count(task, DataSplit.Train), root.Split($"memory/{task}"));
    }

    public override void Save(IDictionary<string, float[]> tensors, IDictionary<string, string> metadata)
    {
        _memory.Save("agem.memory", metadata);
        metadata["agem.steps"] = Steps.ToString(System.Globalization.CultureInfo.InvariantCulture);
        metadata["agem.projected"] = Projected.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    public override void Load(IReadOnlyDictionary<string, float[]> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        _memory.Load("agem.memory", metadata);
        if (!metadata.TryGetValue("agem.steps", out var steps) || !metadata.TryGetValue("agem.projected", out var projected))
        {
            throw new InvalidDataException("Checkpoint lacks the projection counts (metadata 'agem.steps' / 'agem.projected').");
        }

        Steps = long.Parse(steps, System.Globalization.CultureInfo.InvariantCulture);
        Projected = long.Parse(projected, System.Globalization.CultureInfo.InvariantCulture);
    }
}
