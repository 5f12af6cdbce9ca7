using ILGPU;
using ILGPU.Algorithms;

namespace ForgetGate.Lab.Gpu.Kernels;

/// <summary>
/// torch.optim updates over every run's flat parameter vector at once (index.X = parameter, index.Y = run). Each run
/// has its own hyper-parameters and step count: the host computes the per-run scalars (as the managed optimizers do,
/// in double, then cast) into a small [runs, 8] table. The gradient is first scaled by the run's clipping coefficient
/// (1 when it does not clip), which is the managed engine's in-place g ← coef·g.
/// </summary>
internal static class Optimizers
{
    /// <summary>Adam scalars per run: −lr/(1−β₁ᵗ), √(1−β₂ᵗ), β₁, β₂, 1−β₁, 1−β₂, ε, weight decay.</summary>
    public const int AdamScalars = 8;

    /// <summary>SGD scalars per run: −lr, μ, 1−dampening, weight decay, nesterov (0/1), first step (0/1).</summary>
    public const int SgdScalars = 8;

    /// <summary>Adam (amsgrad off), as the managed <c>Adam.Step</c>.</summary>
    public static void Adam(
        Index2D index, int paramRun, ArrayView<float> parameters, ArrayView<float> gradients, ArrayView<float> m, ArrayView<float> v,
        ArrayView<float> scalars, ArrayView<float> scale, ArrayView<int> active)
    {
        int r = index.Y;
        if (active[r] == 0)
        {
            return;
        }

        int i = (r * paramRun) + index.X;
        int s = r * AdamScalars;
        float wd = scalars[s + 7];
        float g = gradients[i];
        float coef = scale[r];
        if (coef < 1f)
        {
            g *= coef;
        }

        float p = parameters[i];
        float grad = wd != 0f ? g + (wd * p) : g;
        float mj = (m[i] * scalars[s + 2]) + (scalars[s + 4] * grad);
        float vj = (v[i] * scalars[s + 3]) + (scalars[s + 5] * grad * grad);
        m[i] = mj;
        v[i] = vj;
        float denom = (XMath.Sqrt(vj) / scalars[s + 1]) + scalars[s + 6];
        parameters[i] = p + (scalars[s] * mj / denom);
    }

    /// <summary>SGD with optional momentum, dampening, Nesterov and weight decay, as the managed <c>Sgd.Step</c>.</summary>
    public static void Sgd(
        Index2D index, int paramRun, ArrayView<float> parameters, ArrayView<float> gradients, ArrayView<float> buffer,
        ArrayView<float> scalars, ArrayView<float> scale, ArrayView<int> active)
    {
        int r = index.Y;
        if (active[r] == 0)
        {
            return;
        }

        int i = (r * paramRun) + index.X;
        int s = r * SgdScalars;
        float g = gradients[i];
        float coef = scale[r];
        if (coef < 1f)
        {
            g *= coef;
        }

        float p = parameters[i];
        float wd = scalars[s + 3];
        float mu = scalars[s + 1];
        float d = wd != 0f ? g + (wd * p) : g;
        if (mu != 0f)
        {
            float b = scalars[s + 5] != 0f ? d : (buffer[i] * mu) + (scalars[s + 2] * d);
            buffer[i] = b;
            d = scalars[s + 4] != 0f ? d + (mu * b) : b;
        }

        parameters[i] = p + (scalars[s] * d);
    }
}
