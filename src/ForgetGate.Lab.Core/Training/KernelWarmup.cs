using System.Collections.Concurrent;
using System.Diagnostics;
using ForgetGate.Lab.Numerics.Engines;
using ForgetGate.Lab.Numerics.Losses;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Optim;
using ForgetGate.Lab.Numerics.Random;
using ForgetGate.Lab.Numerics.Threading;

namespace ForgetGate.Lab.Core.Training;

/// <summary>
/// Trains a throwaway copy of a run's network on random data before the run's clock starts, so the stored training
/// throughput measures compiled kernels, not the JIT. Without it the first run of a process (tier-0 code, then
/// tiered PGO's instrumented tier) stored 7,095 samples/s against about 17,000 for every later run in
/// results/quick/report.html: quick.yaml trains for well under a second per run, less than tier-up takes.
/// </summary>
/// <remarks>
/// The copy has its own model, optimizer, buffers and a fixed RNG: nothing of the run (parameters, random streams,
/// checkpoints) sees it, so results are bit-identical with or without it. Once per process for each engine, variant
/// (or cell) and shape: the JIT's work is process-wide.
/// </remarks>
internal static class KernelWarmup
{
    /// <summary>Warm-up length: enough calls for tier-1 promotion (30 calls, then a 100 ms background delay) with margin.</summary>
    private static readonly TimeSpan Duration = TimeSpan.FromMilliseconds(400);

    private const int MinSteps = 40;

    private static readonly ConcurrentDictionary<string, bool> s_warmed = new(StringComparer.Ordinal);

    public static void EnsureWarm(ContinualRunOptions options, RecurrentModelConfig config, int steps, ComputePool? pool)
    {
        string key = $"{options.Engine}/{config.Variant}/{config.Cell?.Name}/{config.InputSize}/{config.Hidden}/{config.Layers}/{config.Outputs}/{steps}/{options.BatchSize}/{options.Optimizer.Kind}";
        if (!s_warmed.TryAdd(key, true))
        {
            return;
        }

        using var model = ModelEngines.Create(options.Engine, config, pool);
        ParameterInit.Initialize(model, new Rng(0x5741524D), steps);
        var optimizer = OptimizerFactory.Create(options.Optimizer, model.Parameters);
        int batch = Math.Max(1, options.BatchSize);
        var rng = new Rng(0x5741524E);
        var x = new float[batch * steps * config.InputSize];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)rng.NextDouble();
        }

        var labels = new int[batch];
        for (int i = 0; i < batch; i++)
        {
            labels[i] = i % config.Outputs;
        }

        var output = new float[batch * config.Outputs];
        var dOutput = new float[batch * config.Outputs];
        var clock = Stopwatch.StartNew();
        for (int step = 0; step < MinSteps || clock.Elapsed < Duration; step++)
        {
            model.Forward(x, batch, steps, output, training: true);
            Losses.SoftmaxCrossEntropy(output, labels, batch, config.Outputs, dOutput, default);
            model.Backward(dOutput);
            GradientClipping.ClipGlobalNorm(model.Parameters, 5f);
            optimizer.Step();
            if ((step & 7) == 0)
            {
                model.Forward(x, batch, steps, output, training: false); // the evaluation path
            }
        }
    }
}
