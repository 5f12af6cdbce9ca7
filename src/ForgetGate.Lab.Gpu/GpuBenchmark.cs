using System.Diagnostics;
using ForgetGate.Lab.Numerics.Losses;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Random;

namespace ForgetGate.Lab.Gpu;

/// <summary>What <see cref="GpuBenchmark.Measure"/> measures: one shape, N runs trained together.</summary>
public sealed record GpuBenchOptions(int Hidden, int Batch, int Steps, int Layers, int Runs, double Seconds, int InferBatch = GpuBenchmark.InferBatch, int InputSize = 28, int Classes = 10);

/// <summary>
/// Throughput of N runs trained together, as <c>bench</c> measures the CPU engine: random row-by-row MNIST shapes,
/// softmax cross-entropy, Adam lr 1e-3; the data stay on the device (as the PyTorch anchor keeps its tensors there).
/// </summary>
/// <param name="TrainSamplesPerSecond">Training samples per second of one run (aggregate / runs).</param>
/// <param name="AggregateTrainSamplesPerSecond">Training samples per second over all runs together.</param>
/// <param name="TrainMsPerStep">Wall time of one training step of all runs together.</param>
/// <param name="AggregateGflops">PyTorch-counted training FLOPs of all runs per second.</param>
/// <param name="InferSamplesPerSecond">Inference samples per second of one run at the inference batch (1000 unless set).</param>
public sealed record GpuBenchResult(double TrainSamplesPerSecond, double AggregateTrainSamplesPerSecond, double TrainMsPerStep, double AggregateGflops, double InferSamplesPerSecond);

/// <summary>The GPU engine's benchmark and on-device self-check (used by <c>forgetgate bench --engine gpu</c>).</summary>
public static class GpuBenchmark
{
    /// <summary>Default inference batch, as the CPU bench.</summary>
    public const int InferBatch = 1000;

    /// <summary>Trains <see cref="GpuBenchOptions.Runs"/> runs of <paramref name="variant"/> together and times it.</summary>
    public static GpuBenchResult Measure(GpuDevice device, Variant variant, GpuBenchOptions o)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(o);
        var config = new RecurrentModelConfig(variant, o.InputSize, o.Hidden, o.Layers, o.Classes);
        var rng = new Rng(2026).Split(variant.Name());
        var data = rng.Split("data");
        double train;
        double stepMs;
        lock (device.Gate)
        {
            using var batch = new GpuRecurrentBatch(device, config, o.Runs);
            for (int r = 0; r < o.Runs; r++)
            {
                using var init = new RecurrentModel(config);
                init.Initialize(rng.Split("init").Split(r.ToString(System.Globalization.CultureInfo.InvariantCulture)), o.Steps);
                batch.SetParameters(r, init.Parameters);
            }

            batch.UseAdam([.. Enumerable.Repeat(new OptimizerSettings(1e-3f), o.Runs)]);
            var x = Gaussian(data, (long)o.Runs * o.Batch * o.Steps * o.InputSize);
            var labels = new int[o.Runs * o.Batch];
            for (int i = 0; i < labels.Length; i++)
            {
                labels[i] = data.NextInt(o.Classes);
            }

            batch.TrainStep(x, labels, o.Batch, o.Steps, clipNorm: null, default);
            var (steps, seconds) = Time(() => batch.TrainStepResident(clipNorm: null), batch.Synchronize, o.Seconds);
            train = steps * (double)o.Batch * o.Runs / seconds;
            stepMs = 1000 * seconds / steps;
        }

        double infer;
        lock (device.Gate)
        {
            using var one = new GpuRecurrentBatch(device, config, 1);
            using var init = new RecurrentModel(config);
            init.Initialize(rng.Split("init").Split("0"), o.Steps);
            one.SetParameters(0, init.Parameters);
            var xi = Gaussian(data, (long)o.InferBatch * o.Steps * o.InputSize);
            one.Forward(xi, o.InferBatch, o.Steps, default, training: false);
            var (runs, seconds) = Time(one.ForwardResident, one.Synchronize, o.Seconds / 2);
            infer = runs * (double)o.InferBatch / seconds;
        }

        double g = variant.GateCount() / 4.0;
        double flopsPerSample = 0;
        for (int k = 0; k < o.Layers; k++)
        {
            int d = k == 0 ? o.InputSize : o.Hidden;
            flopsPerSample += 8.0 * o.Steps * o.Hidden * (d + o.Hidden) * g;
        }

        return new GpuBenchResult(train / o.Runs, train, stepMs, 3 * flopsPerSample * train / 1e9, infer);
    }

    /// <summary>
    /// Checks on this device what the CPU-accelerator tests check, at a real shape: one training step of a run
    /// against the managed engine (largest |Δ| of logits, largest relative gradient difference) and a run alone
    /// against the same run in a batch of 4 after three Adam steps (bit-identical or not). Returns lines to print
    /// and whether every check passed (logits ≤ 1e-4·max(1, |logit|), gradients ≤ 1e-3 relative, batch bit-identical).
    /// </summary>
    public static (IReadOnlyList<string> Lines, bool Passed) SelfCheck(GpuDevice device, Variant variant, int hidden, int batch, int steps)
    {
        ArgumentNullException.ThrowIfNull(device);
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        const int D = 28, C = 10;
        var config = new RecurrentModelConfig(variant, D, hidden, 1, C);
        var rng = new Rng(77);
        using var managed = new RecurrentModel(config);
        managed.Initialize(rng.Split("init"), steps);
        var data = rng.Split("data");
        var x = Gaussian(data, (long)4 * batch * steps * D);
        var labels = new int[4 * batch];
        for (int i = 0; i < labels.Length; i++)
        {
            labels[i] = data.NextInt(C);
        }

        var lines = new List<string>();
        bool passed = true;
        lock (device.Gate)
        {
            int sample = batch * steps * D;
            var expected = new float[batch * C];
            managed.Forward(x.AsSpan(0, sample), batch, steps, expected, training: true);
            var dLogits = new float[batch * C];
            Losses.SoftmaxCrossEntropy(expected, labels.AsSpan(0, batch), batch, C, dLogits);
            managed.Backward(dLogits);
            using var one = new GpuRecurrentBatch(device, config, 1);
            one.SetParameters(0, managed.Parameters);
            var actual = new float[batch * C];
            one.Forward(x.AsSpan(0, sample), batch, steps, actual, training: true);
            one.Backward(dLogits);
            using var grads = new RecurrentModel(config);
            one.GetGradients(0, grads.Parameters);
            double logitDiff = 0;
            for (int i = 0; i < actual.Length; i++)
            {
                logitDiff = Math.Max(logitDiff, Math.Abs(actual[i] - expected[i]) / Math.Max(1.0, Math.Abs(expected[i])));
            }

            double gradDiff = 0;
            for (int p = 0; p < grads.Parameters.Count; p++)
            {
                var e = managed.Parameters[p].Gradient;
                var a = grads.Parameters[p].Gradient;
                double scale = e.Max(v => Math.Abs(v));
                for (int i = 0; i < e.Length; i++)
                {
                    gradDiff = Math.Max(gradDiff, Math.Abs(a[i] - e[i]) / Math.Max(Math.Abs(e[i]), Math.Max(0.01 * scale, 1e-30)));
                }
            }

            bool ok = logitDiff <= 1e-4 && gradDiff <= 1e-3;
            passed &= ok;
            lines.Add(string.Create(inv, $"check {variant.Name()} H={hidden} B={batch} T={steps} vs managed: max logit |Δ| {logitDiff:E2} (≤ 1e-4), max gradient relative Δ {gradDiff:E2} (≤ 1e-3): {(ok ? "ok" : "FAILED")}"));

            // Alone vs slot 2 of 4 (others: other weights, data, learning rates), three Adam steps with clipping.
            using var alone = new GpuRecurrentBatch(device, config, 1);
            alone.SetParameters(0, managed.Parameters);
            alone.UseAdam([new OptimizerSettings(1e-3f)]);
            using var four = new GpuRecurrentBatch(device, config, 4);
            var settings = new List<OptimizerSettings>();
            for (int r = 0; r < 4; r++)
            {
                using var other = new RecurrentModel(config);
                other.Initialize(rng.Split("other").Split(r.ToString(inv)), steps);
                four.SetParameters(r, r == 2 ? managed.Parameters : other.Parameters);
                settings.Add(new OptimizerSettings(r == 2 ? 1e-3f : 5e-4f * (r + 1)));
            }

            four.UseAdam(settings);
            var la = new float[1];
            var lb = new float[4];
            for (int s = 0; s < 3; s++)
            {
                alone.TrainStep(x.AsSpan(2 * sample, sample), labels.AsSpan(2 * batch, batch), batch, steps, 1f, la);
                four.TrainStep(x, labels, batch, steps, 1f, lb);
            }

            using var pa = new RecurrentModel(config);
            using var pb = new RecurrentModel(config);
            alone.GetParameters(0, pa.Parameters);
            four.GetParameters(2, pb.Parameters);
            bool same = BitConverter.SingleToInt32Bits(la[0]) == BitConverter.SingleToInt32Bits(lb[2]);
            for (int p = 0; p < pa.Parameters.Count; p++)
            {
                same &= pa.Parameters[p].Value.AsSpan().SequenceEqual(pb.Parameters[p].Value);
            }

            passed &= same;
            lines.Add(string.Create(inv, $"check run alone vs the same run in a batch of 4, 3 Adam steps: {(same ? "bit-identical" : "DIFFERENT")} (loss {la[0]:R} vs {lb[2]:R})"));
        }

        return (lines, passed);
    }

    private static float[] Gaussian(Rng rng, long n)
    {
        var v = new float[n];
        for (long i = 0; i < n; i++)
        {
            v[i] = (float)rng.NextGaussian();
        }

        return v;
    }

    /// <summary>
    /// Warms up, then times windows of at least a quarter of <paramref name="seconds"/> (each ended by waiting for
    /// the device) until <paramref name="seconds"/> have passed; returns the median window as (runs, seconds).
    /// </summary>
    private static (int Runs, double Seconds) Time(Action action, Action synchronize, double seconds)
    {
        for (int i = 0; i < 3; i++)
        {
            action();
        }

        synchronize();
        var windows = new List<(int Runs, double Seconds)>();
        var total = Stopwatch.StartNew();
        while (windows.Count < 3 || total.Elapsed.TotalSeconds < seconds)
        {
            var sw = Stopwatch.StartNew();
            int runs = 0;
            while (runs < 2 || sw.Elapsed.TotalSeconds < seconds / 4)
            {
                action();
                runs++;
                if ((runs & 7) == 0)
                {
                    // Launches are asynchronous: wait now and then so the window measures work done, not work queued.
                    synchronize();
                }
            }

            synchronize();
            windows.Add((runs, sw.Elapsed.TotalSeconds));
        }

        windows.Sort((a, b) => (a.Seconds / a.Runs).CompareTo(b.Seconds / b.Runs));
        return windows[windows.Count / 2];
    }
}

/// <summary>
/// A sweep's wall time through the engine seam, as <c>worker --gpu</c> trains it: <paramref name="Runs"/> runs of one
/// shape, each with its own data, host loss and host Adam, trained one after another on a gpu network each
/// (<paramref name="AloneSeconds"/>) and then all together as seats of one <see cref="GpuSweepBatch"/>, one thread per
/// run (<paramref name="BatchedSeconds"/>). <paramref name="BitIdentical"/>: every run's final parameters agree bit for bit.
/// </summary>
public sealed record GpuSweepResult(int Runs, int TrainSteps, double AloneSeconds, double BatchedSeconds, double RunsPerLaunch, bool BitIdentical)
{
    /// <summary>How many times faster the batched sweep finished.</summary>
    public double Speedup => AloneSeconds / BatchedSeconds;
}

/// <summary>The sweep comparison of <c>forgetgate-gpu-bench --sweep</c>.</summary>
public static class GpuSweepBenchmark
{
    /// <summary>Trains the sweep both ways and times each (see <see cref="GpuSweepResult"/>).</summary>
    public static GpuSweepResult Measure(GpuDevice device, Variant variant, int hidden, int batch, int steps, int runs, int trainSteps, int inputSize = 28, int classes = 10)
    {
        ArgumentNullException.ThrowIfNull(device);
        var config = new RecurrentModelConfig(variant, inputSize, hidden, 1, classes);
        var inputs = new float[runs][];
        var labels = new int[runs][];
        for (int r = 0; r < runs; r++)
        {
            var rng = new Rng(0x5357_0000UL + (ulong)r);
            inputs[r] = new float[batch * steps * inputSize];
            for (int i = 0; i < inputs[r].Length; i++)
            {
                inputs[r][i] = (float)rng.NextDouble();
            }

            labels[r] = new int[batch];
            for (int i = 0; i < batch; i++)
            {
                labels[r][i] = rng.NextInt(classes);
            }
        }

        float[][] Train(IRecurrentNetworkFactory make, int r)
        {
            using var network = make(r);
            Numerics.Engines.ParameterInit.Initialize(network, new Rng(0x5357_1000UL + (ulong)r), steps);
            var adam = new Numerics.Optim.Adam(network.Parameters, lr: 1e-3f);
            var logits = new float[batch * classes];
            var dLogits = new float[batch * classes];
            for (int step = 0; step < trainSteps; step++)
            {
                network.Forward(inputs[r], batch, steps, logits, training: true);
                Losses.SoftmaxCrossEntropy(logits, labels[r], batch, classes, dLogits);
                network.Backward(dLogits);
                adam.Step();
            }

            return [.. network.Parameters.Select(p => p.Value.ToArray())];
        }

        // Warm: compile every kernel once so neither side pays for it.
        Train(_ => new GpuNetwork(device, config), 0);

        var clock = Stopwatch.StartNew();
        var alone = new float[runs][][];
        for (int r = 0; r < runs; r++)
        {
            alone[r] = Train(_ => new GpuNetwork(device, config), r);
        }

        double aloneSeconds = clock.Elapsed.TotalSeconds;
        var together = new float[runs][][];
        using var sweep = new GpuSweepBatch(runs, () => device);
        clock.Restart();
        var threads = Enumerable.Range(0, runs).Select(r => new Thread(() =>
        {
            try
            {
                together[r] = Train(m => sweep.EngineFor(m).Create(config, Numerics.Threading.ComputePool.SingleThreaded), r);
            }
            finally
            {
                sweep.Leave(r);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        double batchedSeconds = clock.Elapsed.TotalSeconds;
        bool identical = Enumerable.Range(0, runs).All(r => alone[r].Zip(together[r]).All(p => p.First.AsSpan().SequenceEqual(p.Second)));
        return new GpuSweepResult(runs, trainSteps, aloneSeconds, batchedSeconds, sweep.Statistics.RunsPerLaunch, identical);
    }

    private delegate Numerics.Engines.IRecurrentNetwork IRecurrentNetworkFactory(int run);
}
