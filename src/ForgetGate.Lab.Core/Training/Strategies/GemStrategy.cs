using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Random;

namespace ForgetGate.Lab.Core.Training.Strategies;

/// <summary>
/// Gradient Episodic Memory (Lopez-Paz &amp; Ranzato 2017). An episodic memory of M samples per finished task; each
/// step g_k is the task-loss gradient on task k's whole memory. When any g·g_k &lt; 0 the gradient becomes
/// g̃ = Gᵀv + g, v solving the dual QP min_v ½vᵀ(GGᵀ + εI)v + (Gg)ᵀv, v ≥ margin (<see cref="BoxQp"/>, no QP library).
/// Defaults M = 256, margin (memory_strength) = 0.5, ε = 1e-3: the authors' code (GradientEpisodicMemory, main.py).
/// One backward pass per past task per step, so the cost grows with the number of tasks.
/// </summary>
internal sealed class GemStrategy : ContinualStrategy
{
    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly EpisodicMemory _memory;
    private readonly double _margin;
    private readonly List<float[]> _memoryGradients = [];
    private readonly float[] _gradient;
    private int _references;

    public GemStrategy(IReadOnlyList<Parameter> parameters, int memoryPerTask, double margin)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentOutOfRangeException.ThrowIfNegative(margin);
        _parameters = parameters;
        _memory = new EpisodicMemory(memoryPerTask);
        _margin = margin;
        _gradient = new float[FlatGradient.Length(parameters)];
    }

    public override string Kind => "gem";

    /// <summary>Working vectors of the parameters' size: one g_k per past task, and g.</summary>
    private int FlatBuffers => _memoryGradients.Count + 1;

    internal EpisodicMemory Memory => _memory;

    internal long Projected { get; private set; }

    internal long Steps { get; private set; }

    public override int ModelRows(int batchSize) => _memory.PerTask;

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
        ArgumentNullException.ThrowIfNull(model);
        _references = 0;
        for (int k = 0; k < _memory.TaskCount; k++)
        {
            if (_memoryGradients.Count <= k)
            {
                _memoryGradients.Add(new float[_gradient.Length]);
            }

            model.LossGradient(_memory.Task(k));
            FlatGradient.Gather(_parameters, _memoryGradients[k]);
            _references++;
        }
    }

    public override double AdjustGradients(IReadOnlyList<Parameter> parameters)
    {
        if (_references == 0)
        {
            return 0;
        }

        int k = _references;
        _references = 0;
        FlatGradient.Gather(_parameters, _gradient);
        Steps++;
        bool violated = false;
        for (int i = 0; i < k && !violated; i++)
        {
            violated = GradientProjection.Dot(_gradient, _memoryGradients[i]) < 0;
        }

        if (violated)
        {
            GradientProjection.ProjectGem(_gradient, _memoryGradients.GetRange(0, k), _margin);
            FlatGradient.Scatter(_gradient, _parameters);
            Projected++;
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
        _memory.Save("gem.memory", metadata);
        metadata["gem.steps"] = Steps.ToString(System.Globalization.CultureInfo.InvariantCulture);
        metadata["gem.projected"] = Projected.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    public override void Load(IReadOnlyDictionary<string, float[]> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        _memory.Load("gem.memory", metadata);
        if (!metadata.TryGetValue("gem.steps", out var steps) || !metadata.TryGetValue("gem.projected", out var projected))
        {
            throw new InvalidDataException("Checkpoint lacks the projection counts (metadata 'gem.steps' / 'gem.projected').");
        }

        Steps = long.Parse(steps, System.Globalization.CultureInfo.InvariantCulture);
        Projected = long.Parse(projected, System.Globalization.CultureInfo.InvariantCulture);
    }
}
