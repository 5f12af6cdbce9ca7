using ForgetGate.Lab.Numerics.Models;

namespace ForgetGate.Lab.Numerics.Optim;

/// <summary>
/// torch.optim.Adam (PyTorch 1.13 single-tensor path, amsgrad off):
/// g ← g + wd·p; m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
/// p ← p − (lr/(1−β₁ᵗ)) · m / (√v/√(1−β₂ᵗ) + ε).
/// </summary>
public sealed class Adam : IOptimizer
{
    private const string KindName = "adam";
    private readonly Parameter[] _parameters;
    private readonly float[][] _expAvg;
    private readonly float[][] _expAvgSq;
    private long _step;

    /// <summary>Creates the optimizer with torch.optim.Adam's argument names and defaults.</summary>
    public Adam(IReadOnlyList<Parameter> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 0f)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(lr >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(lr), lr, "Learning rate must be >= 0.");
        }

        if (!(beta1 >= 0 && beta1 < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(beta1), beta1, "beta1 must be in [0, 1).");
        }

        if (!(beta2 >= 0 && beta2 < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(beta2), beta2, "beta2 must be in [0, 1).");
        }

        if (!(eps >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(eps), eps, "eps must be >= 0.");
        }

        if (!(weightDecay >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "weightDecay must be >= 0.");
        }

        _parameters = [.. parameters];
        OptimizerChecks.RequireUniqueNames(_parameters);
        LearningRate = lr;
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        WeightDecay = weightDecay;
        _expAvg = new float[_parameters.Length][];
        _expAvgSq = new float[_parameters.Length][];
        for (int i = 0; i < _parameters.Length; i++)
        {
            _expAvg[i] = new float[_parameters[i].Length];
            _expAvgSq[i] = new float[_parameters[i].Length];
        }
    }

    /// <summary>Learning rate (may be changed between steps, e.g. by a schedule).</summary>
    public float LearningRate { get; set; }

    /// <summary>First-moment decay β₁.</summary>
    public float Beta1 { get; }

    /// <summary>Second-moment decay β₂.</summary>
    public float Beta2 { get; }

    /// <summary>Denominator term ε, added after √v̂.</summary>
    public float Eps { get; }

    /// <summary>L2 penalty added to the gradient (not decoupled; that is AdamW).</summary>
    public float WeightDecay { get; }

    /// <summary>Number of steps taken.</summary>
    public long StepCount => _step;

    /// <inheritdoc />
    public void Step()
    {
        _step++;

        // PyTorch computes these scalars in Python doubles, then each op casts its scalar to float32.
        double bc1 = 1.0 - Math.Pow(Beta1, _step);
        double bc2 = 1.0 - Math.Pow(Beta2, _step);
        float negStepSize = (float)-(LearningRate / bc1);
        float bc2Sqrt = (float)Math.Sqrt(bc2);
        float beta1 = Beta1;
        float beta2 = Beta2;
        float oneMinusBeta1 = (float)(1.0 - (double)Beta1);
        float oneMinusBeta2 = (float)(1.0 - (double)Beta2);
        float eps = Eps;
        float wd = WeightDecay;

        for (int i = 0; i < _parameters.Length; i++)
        {
            var p = _parameters[i].Value.AsSpan();
            var g = _parameters[i].Gradient.AsSpan(0, p.Length);
            var m = _expAvg[i].AsSpan(0, p.Length);
            var v = _expAvgSq[i].AsSpan(0, p.Length);
            for (int j = 0; j < p.Length; j++)
            {
                float grad = wd != 0f ? g[j] + (wd * p[j]) : g[j];
                float mj = (m[j] * beta1) + (oneMinusBeta1 * grad);
                float vj = (v[j] * beta2) + (oneMinusBeta2 * grad * grad);
                m[j] = mj;
                v[j] = vj;
                float denom = (MathF.Sqrt(vj) / bc2Sqrt) + eps;
                p[j] += negStepSize * mj / denom;
            }
        }
    }

    /// <inheritdoc />
    public OptimizerState GetState()
    {
        var buffers = new Dictionary<string, float[]>(2 * _parameters.Length, StringComparer.Ordinal);
        for (int i = 0; i < _parameters.Length; i++)
        {
            buffers["exp_avg/" + _parameters[i].Name] = (float[])_expAvg[i].Clone();
            buffers["exp_avg_sq/" + _parameters[i].Name] = (float[])_expAvgSq[i].Clone();
        }

        return new OptimizerState(KindName, _step, buffers);
    }

    /// <inheritdoc />
    public void SetState(OptimizerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        OptimizerChecks.RequireKind(state, KindName);
        // Validate everything before changing anything, so a bad state leaves the optimizer untouched.
        var m = new float[_parameters.Length][];
        var v = new float[_parameters.Length][];
        for (int i = 0; i < _parameters.Length; i++)
        {
            m[i] = OptimizerChecks.RequireBuffer(state, "exp_avg/" + _parameters[i].Name, _parameters[i].Length);
            v[i] = OptimizerChecks.RequireBuffer(state, "exp_avg_sq/" + _parameters[i].Name, _parameters[i].Length);
        }

        OptimizerChecks.RequireNoExtraBuffers(state, 2 * _parameters.Length);
        for (int i = 0; i < _parameters.Length; i++)
        {
            m[i].CopyTo(_expAvg[i], 0);
            v[i].CopyTo(_expAvgSq[i], 0);
        }

        _step = state.Step;
    }
}
