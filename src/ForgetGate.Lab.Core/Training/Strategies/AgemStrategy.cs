using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Random;

namespace ForgetGate.Lab.Core.Training.Strategies;

/// <summary>
/// Averaged GEM (Chaudhry, Ranzato, Rohrbach &amp; Elhoseiny 2019). An episodic memory of M samples per finished task;
/// each step g_ref is the task-loss gradient on a uniform draw of S memory samples, and when g·g_ref &lt; 0 the step's
/// gradient is projected: g ← g − (g·g_ref / g_ref·g_ref)·g_ref. Defaults M = 256 (GEM's, so A-GEM and GEM compare at
/// equal memory; the A-GEM paper stores 250 per task) and S = 256 (the A-GEM paper's reference batch).
/// </summary>
internal sealed class AgemStrategy : EpisodicProjectionStrategy
{
    private readonly int _referenceBatch;
    private readonly float[] _reference;
    private bool _hasReference;

    public AgemStrategy(IReadOnlyList<Parameter> parameters, int memoryPerTask, int referenceBatch)
        : base(parameters, memoryPerTask)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(referenceBatch, 1);
        _referenceBatch = referenceBatch;
        _reference = new float[Gradient.Length];
    }

    public override string Kind => "agem";

    /// <summary>Working vectors of the parameters' size: g_ref and g.</summary>
    protected override int FlatBuffers => 2;

    public override int ModelRows(int batchSize) => _referenceBatch;

    public override void BeforeStep(int task, int epoch, int batch, Rng root, IStrategyModel model)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(model);
        _hasReference = false;
        if (Memory.Count == 0)
        {
            return;
        }

        var refs = Memory.Sample(_referenceBatch, root.Split($"agem/{task}/{epoch}/{batch}"));
        model.LossGradient(refs);
        FlatGradient.Gather(Parameters, _reference);
        _hasReference = true;
    }

    public override double AdjustGradients(IReadOnlyList<Parameter> parameters)
    {
        if (!_hasReference)
        {
            return 0;
        }

        _hasReference = false;
        FlatGradient.Gather(Parameters, Gradient);
        Steps++;
        if (GradientProjection.ProjectAgem(Gradient, _reference))
        {
            Projected++;
            FlatGradient.Scatter(Gradient, Parameters);
        }

        return 0;
    }
}
