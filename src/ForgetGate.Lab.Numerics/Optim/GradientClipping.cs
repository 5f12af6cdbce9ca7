using ForgetGate.Lab.Numerics.Models;

namespace ForgetGate.Lab.Numerics.Optim;

/// <summary>Gradient clipping as torch.nn.utils.</summary>
public static class GradientClipping
{
    /// <summary>
    /// torch.nn.utils.clip_grad_norm_ (L2): total = ‖(‖g₁‖, …, ‖gₙ‖)‖₂; coef = maxNorm/(total + 1e-6);
    /// if coef &lt; 1 every gradient is scaled by coef. Returns the total norm before clipping.
    /// </summary>
    public static float ClipGlobalNorm(IReadOnlyList<Parameter> parameters, float maxNorm)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(maxNorm >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "maxNorm must be >= 0.");
        }

        // Per-tensor norms rounded to float32 as torch.norm returns them, then the norm of those norms.
        double sumOfSquares = 0;
        for (int i = 0; i < parameters.Count; i++)
        {
            var g = parameters[i].Gradient;
            double s = 0;
            for (int j = 0; j < parameters[i].Length; j++)
            {
                s += (double)g[j] * g[j];
            }

            double norm = (float)Math.Sqrt(s);
            sumOfSquares += norm * norm;
        }

        float total = (float)Math.Sqrt(sumOfSquares);
        float coef = maxNorm / (total + 1e-6f);
        if (coef < 1f)
        {
            for (int i = 0; i < parameters.Count; i++)
            {
                var g = parameters[i].Gradient.AsSpan(0, parameters[i].Length);
                for (int j = 0; j < g.Length; j++)
                {
                    g[j] *= coef;
                }
            }
        }

        return total;
    }
}
