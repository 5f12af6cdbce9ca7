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
internal sealed class GemStrategy : EpisodicProjectionStrategy
{
    private readonly double _margin;
    private readonly List<float[]> _memoryGradients = [];
    private int _references;

    public GemStrategy(IReadOnlyList<Parameter> parameters, int memoryPerTask, double margin)
        : base(parameters, memoryPerTask)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(margin);
        _margin = margin;
    }

    public override string Kind => "gem";

    /// <summary>Working vectors of the parameters' size: one g_k per past task, and g.</summary>
    protected override int FlatBuffers => _memoryGradients.Count + 1;

    public override int ModelRows(int batchSize) => Memory.PerTask;

    public override void BeforeStep(int task, int epoch, int batch, Rng root, IStrategyModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        _references = 0;
        for (int k = 0; k < Memory.TaskCount; k++)
        {
            if (_memoryGradients.Count <= k)
            {
                _memoryGradients.Add(new float[Gradient.Length]);
            }

            model.LossGradient(Memory.Task(k));
            FlatGradient.Gather(Parameters, _memoryGradients[k]);
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
        FlatGradient.Gather(Parameters, Gradient);
        Steps++;
        bool violated = false;
        for (int i = 0; i < k && !violated; i++)
        {
            violated = GradientProjection.Dot(Gradient, _memoryGradients[i]) < 0;
        }

        if (violated)
        {
            GradientProjection.ProjectGem(Gradient, _memoryGradients.GetRange(0, k), _margin);
            FlatGradient.Scatter(Gradient, Parameters);
            Projected++;
        }

        return 0;
    }
}
