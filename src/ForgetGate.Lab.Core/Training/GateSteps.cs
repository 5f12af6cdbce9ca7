using ForgetGate.Lab.Core.Runs;

namespace ForgetGate.Lab.Core.Training;

/// <summary>
/// Gates through time (DESIGN.md §12): summarises the per-step forget values of one layer, whatever produced them
/// (a built-in's σ(f), γ or z, or a cell file's declared <c>forget:</c> quantity), given as [steps, batch, units].
/// </summary>
public static class GateSteps
{
    /// <summary>The probe sample whose unit × time matrix is kept: the first of the probe batch (test sample 0 of the task).</summary>
    public const int SampleIndex = 0;

    /// <summary>
    /// Per-step means over samples and units, the unit × time matrix of sample <see cref="SampleIndex"/>, and the spread
    /// of all values, from <paramref name="gates"/> laid out [steps, batch, units]. Sums run in float64.
    /// </summary>
    public static GateStepRow Summarise(int afterTask, int epoch, int layer, int evalTask, ReadOnlySpan<float> gates, int steps, int batch, int units)
    {
        long expected = (long)steps * batch * units;
        if (steps < 1 || batch < 1 || units < 1 || gates.Length != expected)
        {
            throw new ArgumentException($"gates has {gates.Length} values; expected steps·batch·units = {steps}·{batch}·{units} = {expected} (each at least 1).", nameof(gates));
        }

        var means = new double[steps];
        var sample = new float[units * steps];
        var counts = new long[GateStatistics.Bins];
        double min = double.PositiveInfinity, max = double.NegativeInfinity, sum = 0, squares = 0;
        int perStep = batch * units;
        for (int t = 0; t < steps; t++)
        {
            var row = gates.Slice(t * perStep, perStep);
            double stepSum = 0;
            foreach (float f in row)
            {
                double v = f;
                stepSum += v;
                squares += v * v;
                min = Math.Min(min, v);
                max = Math.Max(max, v);
                counts[Math.Clamp((int)(v * GateStatistics.Bins), 0, GateStatistics.Bins - 1)]++;
            }

            sum += stepSum;
            means[t] = stepSum / perStep;
            var mine = row.Slice(SampleIndex * units, units);
            for (int u = 0; u < units; u++)
            {
                sample[(u * steps) + t] = mine[u];
            }
        }

        return new GateStepRow(afterTask, epoch, layer, evalTask, batch, steps, units, means, SampleIndex, sample,
            new GateSpread(expected, min, max, sum, squares, counts));
    }
}
