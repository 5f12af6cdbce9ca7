namespace ForgetGate.Lab.Core.Training.Strategies;

/// <summary>The output-matching terms of LwF and DER++, each returning its value and adding its gradient.</summary>
internal static class Distillation
{
    /// <summary>
    /// KL(softmax(z_old/τ) ‖ softmax(z/τ)) over <paramref name="classes"/> (every column when empty); adds
    /// scale·∂KL/∂z = scale·(softmax(z/τ) − softmax(z_old/τ))/τ to <paramref name="dLogits"/>. Computed in float64.
    /// </summary>
    public static double SoftKl(ReadOnlySpan<float> logits, ReadOnlySpan<float> oldLogits, ReadOnlySpan<int> classes, double temperature, Span<float> dLogits, double scale)
    {
        int k = classes.IsEmpty ? logits.Length : classes.Length;
        Span<double> p = k <= 256 ? stackalloc double[k] : new double[k];
        Span<double> q = k <= 256 ? stackalloc double[k] : new double[k];
        double maxNew = double.NegativeInfinity;
        double maxOld = double.NegativeInfinity;
        for (int i = 0; i < k; i++)
        {
            int c = classes.IsEmpty ? i : classes[i];
            p[i] = logits[c] / temperature;
            q[i] = oldLogits[c] / temperature;
            maxNew = Math.Max(maxNew, p[i]);
            maxOld = Math.Max(maxOld, q[i]);
        }

        double sumNew = 0;
        double sumOld = 0;
        for (int i = 0; i < k; i++)
        {
            sumNew += Math.Exp(p[i] - maxNew);
            sumOld += Math.Exp(q[i] - maxOld);
        }

        double logZNew = maxNew + Math.Log(sumNew);
        double logZOld = maxOld + Math.Log(sumOld);
        double kl = 0;
        for (int i = 0; i < k; i++)
        {
            double logPNew = p[i] - logZNew;
            double logPOld = q[i] - logZOld;
            double pOld = Math.Exp(logPOld);
            kl += pOld * (logPOld - logPNew);
            int c = classes.IsEmpty ? i : classes[i];
            dLogits[c] = (float)(dLogits[c] + (scale * (Math.Exp(logPNew) - pOld) / temperature));
        }

        return kl;
    }

    /// <summary>Σ (z − z_ref)² over a row; adds scale·2(z − z_ref) to <paramref name="dOutput"/>.</summary>
    public static double SquaredError(ReadOnlySpan<float> output, ReadOnlySpan<float> reference, Span<float> dOutput, double scale)
    {
        double sum = 0;
        for (int c = 0; c < output.Length; c++)
        {
            double d = (double)output[c] - reference[c];
            sum += d * d;
            dOutput[c] = (float)(dOutput[c] + (scale * 2 * d));
        }

        return sum;
    }
}
