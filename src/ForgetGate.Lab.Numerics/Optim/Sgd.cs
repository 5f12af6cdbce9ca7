using ForgetGate.Lab.Numerics.Models;

namespace ForgetGate.Lab.Numerics.Optim;

/// <summary>
/// torch.optim.SGD (PyTorch 1.13): g ← g + wd·p; with momentum μ: buf ← g on the first step, else
/// buf ← μ·buf + (1−dampening)·g; g ← nesterov ? g + μ·buf : buf; then p ← p − lr·g.
/// </summary>
public sealed class Sgd : IOptimizer
{
    private const string KindName = "sgd";
    private readonly Parameter[] _parameters;
    private readonly float[][] _momentumBuffer;
    private long _step;

    /// <summary>Creates the optimizer with torch.optim.SGD's argument names and defaults.</summary>
    public Sgd(IReadOnlyList<Parameter> parameters, float lr, float momentum = 0f, float dampening = 0f, float weightDecay = 0f, bool nesterov = false)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(lr >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(lr), lr, "Learning rate must be >= 0.");
        }

        if (!(momentum >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "momentum must be >= 0.");
        }

        if (!(weightDecay >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "weightDecay must be >= 0.");
        }

        if (nesterov && (momentum <= 0 || dampening != 0))
        {
            throw new ArgumentException("Nesterov momentum requires a momentum > 0 and zero dampening (as torch.optim.SGD).", nameof(nesterov));
        }

        _parameters = [.. parameters];
        OptimizerChecks.RequireUniqueNames(_parameters);
        LearningRate = lr;
        Momentum = momentum;
        Dampening = dampening;
        WeightDecay = weightDecay;
        Nesterov = nesterov;
        _momentumBuffer = new float[_parameters.Length][];
        for (int i = 0; i < _parameters.Length; i++)
        {
            _momentumBuffer[i] = momentum != 0 ? new float[_parameters[i].Length] : [];
        }
    }

    /// <summary>Learning rate (may be changed between steps).</summary>
    public float LearningRate { get; set; }

    /// <summary>Momentum factor μ (0 = plain SGD).</summary>
    public float Momentum { get; }

    /// <summary>Dampening of the gradient added to the momentum buffer.</summary>
    public float Dampening { get; }

    /// <summary>L2 penalty added to the gradient.</summary>
    public float WeightDecay { get; }

    /// <summary>Nesterov momentum.</summary>
    public bool Nesterov { get; }

    /// <summary>Number of steps taken.</summary>
    public long StepCount => _step;

    /// <inheritdoc />
    public void Step()
    {
        bool first = _step == 0;
        _step++;
        float negLr = -LearningRate;
        float mu = Momentum;
        float oneMinusDampening = (float)(1.0 - (double)Dampening);
        float wd = WeightDecay;
        for (int i = 0; i < _parameters.Length; i++)
        {
            var p = _parameters[i].Value.AsSpan();
            var g = _parameters[i].Gradient.AsSpan(0, p.Length);
            if (mu == 0f)
            {
                for (int j = 0; j < p.Length; j++)
                {
                    float d = wd != 0f ? g[j] + (wd * p[j]) : g[j];
                    p[j] += negLr * d;
                }

                continue;
            }

            var buf = _momentumBuffer[i].AsSpan(0, p.Length);
            for (int j = 0; j < p.Length; j++)
            {
                float d = wd != 0f ? g[j] + (wd * p[j]) : g[j];
                float b = first ? d : (buf[j] * mu) + (oneMinusDampening * d);
                buf[j] = b;
                d = Nesterov ? d + (mu * b) : b;
                p[j] += negLr * d;
            }
        }
    }

    /// <inheritdoc />
    public OptimizerState GetState()
    {
        var buffers = new Dictionary<string, float[]>(StringComparer.Ordinal);
        if (Momentum != 0f)
        {
            for (int i = 0; i < _parameters.Length; i++)
            {
                buffers["momentum_buffer/" + _parameters[i].Name] = (float[])_momentumBuffer[i].Clone();
            }
        }

        return new OptimizerState(KindName, _step, buffers);
    }

    /// <inheritdoc />
    public void SetState(OptimizerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        OptimizerChecks.RequireKind(state, KindName);
        var buffers = new float[_parameters.Length][];
        int expected = 0;
        if (Momentum != 0f)
        {
            for (int i = 0; i < _parameters.Length; i++)
            {
                buffers[i] = OptimizerChecks.RequireBuffer(state, "momentum_buffer/" + _parameters[i].Name, _parameters[i].Length);
            }

            expected = _parameters.Length;
        }

        OptimizerChecks.RequireNoExtraBuffers(state, expected);
        if (Momentum != 0f)
        {
            for (int i = 0; i < _parameters.Length; i++)
            {
                buffers[i].CopyTo(_momentumBuffer[i], 0);
            }
        }

        _step = state.Step;
    }
}
