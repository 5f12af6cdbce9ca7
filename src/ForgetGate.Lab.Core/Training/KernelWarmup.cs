using System.Collections.Concurrent;
using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Numerics.Engines;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Random;
using ForgetGate.Lab.Numerics.Threading;

namespace ForgetGate.Lab.Core.Training;

/// <summary>
/// Trains a throwaway copy of a run's network on the run's own first training samples before the run's clock starts,
/// through the run's whole training-step path (batch fill with the task's transform, forward, the loss the run uses,
/// backward, clipping, optimizer step; and the evaluation forward), until the JIT has settled (<see cref="JitWarmup"/>).
/// The stored training throughput then measures compiled code, not the JIT: without it the first run of a process
/// stored 7,095 samples/s against about 17,000 for every later run in results/quick/report.html, and with a fixed
/// 0.4 s of model-only warm-up the first pair of a fresh ./run-all.sh still stored ≈ 0.55× its kin.
/// </summary>
/// <remarks>
/// The copy has its own model, optimizer, buffers and a fixed RNG, and only reads the task source: nothing of the run
/// (parameters, random streams, checkpoints) sees it, so results are bit-identical with or without it. Once per
/// process for each engine, variant (or cell) and shape: the JIT's work is process-wide. A run that arrives while
/// another run of the same key is warming waits for that warm-up instead of starting its clock on cold code beside it
/// (with two slots the first pair of a sweep is two runs of one variant: before, the second started at once).
/// </remarks>
internal static class KernelWarmup
{
    /// <summary>At least this long, as before the JIT-quiet rule (tier-1 promotion needs 30 calls after a 100 ms delay).</summary>
    private static readonly TimeSpan Minimum = TimeSpan.FromMilliseconds(400);

    /// <summary>
    /// At most this long: the process keeps compiling (tier-1 of store, host and console code) for seconds after it
    /// starts, more on a loaded machine, and a neighbour slot adds its own; measured in a fresh quick sweep here (load
    /// 25–45 on 2 cores) the first two keys settled after 2.6–2.7 s or not within 4 s, the later ones in 0.6–2.1 s.
    /// </summary>
    private static readonly TimeSpan Maximum = TimeSpan.FromSeconds(3);

    private static readonly ConcurrentDictionary<string, Lazy<bool>> s_warmed = new(StringComparer.Ordinal);

    public static void EnsureWarm(ContinualRunOptions options, RecurrentModelConfig config, ITaskSource data, ComputePool? pool)
    {
        string key = $"{options.Engine}/{config.Variant}/{config.Cell?.Name}/{config.InputSize}/{config.Hidden}/{config.Layers}/{config.Outputs}/{data.Steps}/{options.BatchSize}/{options.Optimizer.Kind}";
        _ = s_warmed.GetOrAdd(key, _ => new Lazy<bool>(() => Warm(options, config, data, pool), LazyThreadSafetyMode.ExecutionAndPublication)).Value;
    }

    private static bool Warm(ContinualRunOptions options, RecurrentModelConfig config, ITaskSource data, ComputePool? pool)
    {
        using var model = ModelEngines.Create(options.Engine, config, pool);
        ParameterInit.Initialize(model, new Rng(0x5741524D), data.Steps);
        var optimizer = OptimizerFactory.Create(options.Optimizer, model.Parameters);
        int train = Math.Max(1, data.Count(0, DataSplit.Train));
        int batch = Math.Max(1, Math.Min(options.BatchSize, train));
        var samples = Enumerable.Range(0, batch).Select(i => new SampleRef(0, i % train)).ToList();
        var buffers = new BatchBuffers(data, batch);
        var output = new float[batch * data.Outputs];
        var dOutput = new float[output.Length];
        var evalBuffers = new BatchBuffers(data, Math.Max(batch, options.EvaluationBatchSize));
        var evaluator = new TaskEvaluator(model, data, evalBuffers, new ScoreMatrix(data.TaskCount), options.EpochsPerTask, options.EvaluationBatchSize);
        var probe = new GateProbe(model, data, evalBuffers, options.GateProbeSamples, config.Hidden, config.Layers);
        int step = 0;
        try
        {
            JitWarmup.Run(
                () =>
                {
                    buffers.Fill(samples, DataSplit.Train);
                    var x = buffers.X.AsSpan(0, batch * buffers.SampleLength);
                    model.Forward(x, batch, data.Steps, output, training: true);
                    Array.Clear(dOutput);
                    BatchLoss.Compute(data, samples, buffers, output, dOutput);
                    model.Backward(dOutput);
                    Numerics.Optim.GradientClipping.ClipGlobalNorm(model.Parameters, 5f);
                    optimizer.Step();
                    if ((step++ & 15) == 0)
                    {
                        // The evaluation and gate telemetry a run does between tasks, into a sink that keeps nothing:
                        // their tier-1 compiles otherwise land in the first runs' next task, on their clock. The sink
                        // completes every write at once, so waiting here blocks nothing.
                        evaluator.EvaluateAllAsync(DiscardSink.Instance, 0, 0, CancellationToken.None).GetAwaiter().GetResult();
                        probe.WriteStepsAsync(DiscardSink.Instance, 0, 0, CancellationToken.None).GetAwaiter().GetResult();
                        probe.WriteAsync(DiscardSink.Instance, 1, CancellationToken.None).GetAwaiter().GetResult();
                    }
                },
                Minimum,
                Maximum);
        }
        catch (Numerics.Cells.CellNonFiniteException)
        {
            // A cell file can overflow on a throwaway copy's path as on a run's; the warm-up is not the run, so it
            // stops here and the run meets (or not) its own numbers.
        }

        return true;
    }

    /// <summary>A sink that keeps nothing, for the warm-up's evaluations.</summary>
    private sealed class DiscardSink : IRunSink
    {
        public static readonly DiscardSink Instance = new();

        public Task WriteEvaluationsAsync(IReadOnlyList<EvaluationRow> rows, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task WriteTrainingCurveAsync(IReadOnlyList<TrainingCurveRow> rows, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task WriteGateTelemetryAsync(IReadOnlyList<GateTelemetryRow> rows, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task WriteGateStepsAsync(IReadOnlyList<GateStepRow> rows, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task RecordCheckpointAsync(CheckpointRecord checkpoint, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task RecordDatasetFingerprintAsync(string fingerprint, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task ReportProgressAsync(double progress, string? note, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task CompleteAsync(IReadOnlyList<RunSummaryRow> summary, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
