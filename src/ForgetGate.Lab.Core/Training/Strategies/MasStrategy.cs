using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Random;

namespace ForgetGate.Lab.Core.Training.Strategies;

/// <summary>
/// Memory Aware Synapses (Aljundi et al. 2018). At a task's end Ω += (1/N)·Σ_x |∂‖f(x)‖²₂ / ∂θ| over the task's N
/// training samples (one backward pass per sample, since |·| does not commute with the sum; no labels needed, so
/// it means the same for regression), then θ* ← θ. Penalty λ·Σ Ω (θ − θ*)², gradient 2λ·Ω ⊙ (θ − θ*).
/// With a task-incremental (multi-head) sequence f(x) is the sample's own head. Default λ = 1 (Aljundi et al. §5;
/// Avalanche's MAS plugin default <c>lambda_reg = 1</c>).
/// </summary>
internal sealed class MasStrategy : ContinualStrategy
{
    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly double _lambda;
    private readonly ParameterArrays _importance;
    private readonly ParameterArrays _anchor;
    private bool _active;

    public MasStrategy(IReadOnlyList<Parameter> parameters, double lambda)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentOutOfRangeException.ThrowIfNegative(lambda);
        _parameters = parameters;
        _lambda = lambda;
        _importance = new ParameterArrays(parameters);
        _anchor = new ParameterArrays(parameters);
    }

    public override string Kind => "mas";

    internal float[][] Importance => _importance.Arrays;

    public override StrategyFigures Figures => new(0, 0, _importance.Bytes + _anchor.Bytes);

    public override double AdjustGradients(IReadOnlyList<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!_active)
        {
            return 0;
        }

        double penalty = 0;
        float twoLambda = (float)(2 * _lambda);
        for (int p = 0; p < parameters.Count; p++)
        {
            var value = parameters[p].Value;
            var grad = parameters[p].Gradient;
            var omega = _importance[p];
            var anchor = _anchor[p];
            for (int i = 0; i < value.Length; i++)
            {
                float d = value[i] - anchor[i];
                float od = omega[i] * d;
                grad[i] = MathF.FusedMultiplyAdd(twoLambda, od, grad[i]);
                penalty += (double)od * d;
            }
        }

        return _lambda * penalty;
    }

    public override void AfterTask(int task, Rng root, IStrategyModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var data = model.Data;
        int n = data.Count(task, DataSplit.Train);
        var sums = _parameters.Select(p => new double[p.Length]).ToArray();
        OutputGradientRule squaredNorm = (sample, output, dOutput) =>
        {
            var allowed = data.AllowedClasses(sample.Task);
            dOutput.Clear();
            if (allowed.IsEmpty)
            {
                for (int c = 0; c < output.Length; c++)
                {
                    dOutput[c] = 2 * output[c];
                }
            }
            else
            {
                foreach (int c in allowed)
                {
                    dOutput[c] = 2 * output[c];
                }
            }
        };
        for (int i = 0; i < n; i++)
        {
            model.OutputGradient(new SampleRef(task, i), squaredNorm);
            for (int p = 0; p < _parameters.Count; p++)
            {
                var g = _parameters[p].Gradient;
                var s = sums[p];
                for (int k = 0; k < g.Length; k++)
                {
                    s[k] += Math.Abs(g[k]);
                }
            }
        }

        for (int p = 0; p < _parameters.Count; p++)
        {
            var omega = _importance[p];
            var s = sums[p];
            for (int k = 0; k < omega.Length; k++)
            {
                omega[k] = (float)(omega[k] + (s[k] / Math.Max(n, 1)));
            }
        }

        _anchor.CopyValues();
        _active = true;
    }

    public override void Save(IDictionary<string, float[]> tensors, IDictionary<string, string> metadata)
    {
        metadata["mas.active"] = _active ? "1" : "0";
        _importance.Save("mas.importance.", tensors);
        _anchor.Save("mas.anchor.", tensors);
    }

    public override void Load(IReadOnlyDictionary<string, float[]> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        _active = metadata.TryGetValue("mas.active", out var a) && a == "1";
        _importance.Load("mas.importance.", tensors);
        _anchor.Load("mas.anchor.", tensors);
    }
}
