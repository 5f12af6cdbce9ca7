using ForgetGate.Lab.Core.Runs;

namespace ForgetGate.Lab.Core.Training;

/// <summary>Summaries of effective forget-gate activations (DESIGN.md §4, gate telemetry).</summary>
public static class GateStatistics
{
    /// <summary>Bins of the histogram over [0, 1].</summary>
    public const int Bins = 20;

    /// <summary>Mean, fraction above 0.9, fraction below 0.1 and a 20-bin histogram of fractions over [0, 1] (1.0 falls in the last bin).</summary>
    public static GateTelemetryRow Summarise(int afterTask, int layer, int evalTask, ReadOnlySpan<float> gates)
    {
        var histogram = new double[Bins];
        double sum = 0;
        long above = 0, below = 0;
        foreach (float g in gates)
        {
            sum += g;
            if (g > 0.9f)
            {
                above++;
            }

            if (g < 0.1f)
            {
                below++;
            }

            int bin = (int)(g * Bins);
            histogram[Math.Clamp(bin, 0, Bins - 1)]++;
        }

        double n = Math.Max(gates.Length, 1);
        for (int b = 0; b < Bins; b++)
        {
            histogram[b] /= n;
        }

        return new GateTelemetryRow(afterTask, layer, evalTask, sum / n, above / n, below / n, histogram);
    }
}
