using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Random;

namespace ForgetGate.Lab.Core.Training.Strategies;

/// <summary>
/// Synaptic Intelligence (Zenke, Poole &amp; Ganguli 2017). Every step ω += −g ⊙ Δθ, with g the gradient of the task
/// loss alone (before the penalty is added) and Δθ the change the optimizer actually made (Adam, clipping and all):
/// the path integral of the loss decrease each weight is responsible for. At a task's end
/// Ω += ω / ((θ − θ*)² + ξ), ω ← 0, θ* ← θ. Penalty c·Σ Ω (θ − θ*)², gradient 2c·Ω ⊙ (θ − θ*).
/// Defaults c = 0.1, ξ = 0.1: Zenke et al.'s permuted-MNIST setting, as in Mammoth's models/config/si.yaml (perm-mnist).
/// </summary>
internal sealed class SiStrategy : ContinualStrategy
{
    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly double _c;
    private readonly double _xi;
    private readonly ParameterArrays _omega;      // ω: running path integral of the current task
    private readonly ParameterArrays _importance; // Ω
    private readonly ParameterArrays _anchor;     // θ*: parameters at the current task's start
    private readonly ParameterArrays _gradient;   // g of this step (transient: set and used within one step)
    private readonly ParameterArrays _before;     // θ before this step's update (transient)
    private bool _active;
    private bool _stepPending;

    public SiStrategy(IReadOnlyList<Parameter> parameters, double c, double xi)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentOutOfRangeException.ThrowIfNegative(c);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(xi);
        _parameters = parameters;
        _c = c;
        _xi = xi;
        _omega = new ParameterArrays(parameters);
        _importance = new ParameterArrays(parameters);
        _anchor = new ParameterArrays(parameters);
        _gradient = new ParameterArrays(parameters);
        _before = new ParameterArrays(parameters);
    }

    public override string Kind => "si";

    internal float[][] Omega => _omega.Arrays;

    internal float[][] Importance => _importance.Arrays;

    public override StrategyFigures Figures => new(0, 0, _omega.Bytes + _importance.Bytes + _anchor.Bytes);

    public override void BeforeTask(int task, IStrategyModel model)
    {
        if (task == 0)
        {
            _anchor.CopyValues(); // θ* of the first task is the initial model
        }
    }

    public override double AdjustGradients(IReadOnlyList<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        double penalty = 0;
        float twoC = (float)(2 * _c);
        for (int p = 0; p < parameters.Count; p++)
        {
            var value = parameters[p].Value;
            var grad = parameters[p].Gradient;
            grad.AsSpan().CopyTo(_gradient[p]);
            value.AsSpan().CopyTo(_before[p]);
            if (!_active)
            {
                continue;
            }

            var omega = _importance[p];
            var anchor = _anchor[p];
            for (int i = 0; i < value.Length; i++)
            {
                float d = value[i] - anchor[i];
                float od = omega[i] * d;
                grad[i] = MathF.FusedMultiplyAdd(twoC, od, grad[i]);
                penalty += (double)od * d;
            }
        }

        _stepPending = true;
        return _c * penalty;
    }

    public override void AfterBatch(int task, int epoch, int batch, ReadOnlySpan<SampleRef> current, ReadOnlySpan<float> currentOutputs, Rng root)
    {
        if (!_stepPending)
        {
            return;
        }

        _stepPending = false;
        for (int p = 0; p < _parameters.Count; p++)
        {
            var value = _parameters[p].Value;
            var g = _gradient[p];
            var before = _before[p];
            var omega = _omega[p];
            for (int i = 0; i < value.Length; i++)
            {
                omega[i] = MathF.FusedMultiplyAdd(-g[i], value[i] - before[i], omega[i]);
            }
        }
    }

    public override void AfterTask(int task, Rng root, IStrategyModel model)
    {
        for (int p = 0; p < _parameters.Count; p++)
        {
            var value = _parameters[p].Value;
            var omega = _omega[p];
            var big = _importance[p];
            var anchor = _anchor[p];
            for (int i = 0; i < value.Length; i++)
            {
                double d = (double)value[i] - anchor[i];
                big[i] = (float)(big[i] + (omega[i] / ((d * d) + _xi)));
            }
        }

        _omega.Clear();
        _anchor.CopyValues();
        _active = true;
    }

    public override void Save(IDictionary<string, float[]> tensors, IDictionary<string, string> metadata)
    {
        metadata["si.active"] = _active ? "1" : "0";
        _omega.Save("si.omega.", tensors);
        _importance.Save("si.importance.", tensors);
        _anchor.Save("si.anchor.", tensors);
    }

    public override void Load(IReadOnlyDictionary<string, float[]> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        _active = metadata.TryGetValue("si.active", out var a) && a == "1";
        _omega.Load("si.omega.", tensors);
        _importance.Load("si.importance.", tensors);
        _anchor.Load("si.anchor.", tensors);
    }
}
