using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime;
using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Numerics.Engines;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Random;
using ForgetGate.Lab.Numerics.Threading;

namespace ForgetGate.Lab.Core.Training;

/// <summary>
/// Runs a throwaway copy of a run (same options, own seed) before the run's clock starts, until the JIT has settled
/// (no method compiled in the process for <see cref="Quiet"/>; <see cref="JitWarmup"/> says why a fixed time is not
/// enough), so the stored training throughput measures compiled code, not the JIT: without any warm-up the first run of
/// a process stored 7,095 samples/s against about 17,000 for every later run in results/quick/report.html.
/// </summary>
/// <remarks>
/// The copy has its own model, optimizer, strategy, buffers and random streams, writes to a sink that keeps nothing,
/// and only reads the task source: nothing of the run (parameters, random streams, checkpoints, rows) sees it, so
/// results are bit-identical with or without it (tested). Once per process for each engine, variant (or cell) and
/// shape: the JIT's work is process-wide. A run that arrives while another run of the same key is warming waits for
/// that warm-up instead of starting its clock on cold code beside it (with two slots the first pair of a sweep is two
/// runs of one variant: before, the second started at once). The forgetgate CLI runs with tiered compilation off (its
/// csproj gives the measurements), so there nothing is recompiled later and the JIT-quiet rule ends at
/// <see cref="Minimum"/>; the rule matters in hosts that keep tiering on, such as the test runners.
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

    /// <summary>
    /// No method compiled in the whole process for this long: longer than the 100 ms call-counting delay plus 30 calls of
    /// a once-per-batch method at quick.yaml's batch time, plus a tier-1 compile (<see cref="JitWarmup"/> says why).
    /// </summary>
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(500);

    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(20);

    private static readonly ConcurrentDictionary<string, Lazy<bool>> s_warmed = new(StringComparer.Ordinal);

    /// <summary>Warms once per key; <paramref name="cancellationToken"/> (the run's) ends a warm-up early, so Ctrl-C and SIGTERM are not held up by it.</summary>
    public static void EnsureWarm(ContinualRunOptions options, RecurrentModelConfig config, ITaskSource data, ComputePool? pool, CancellationToken cancellationToken)
    {
        string key = $"{options.Engine}/{config.Variant}/{config.Cell?.Name}/{config.InputSize}/{config.Hidden}/{config.Layers}/{config.Outputs}/{data.Steps}/{options.BatchSize}/{options.Optimizer.Kind}";
        _ = s_warmed.GetOrAdd(key, _ => new Lazy<bool>(() => Warm(options, config, data, pool, cancellationToken), LazyThreadSafetyMode.ExecutionAndPublication)).Value;
    }

    private static bool Warm(ContinualRunOptions options, RecurrentModelConfig config, ITaskSource data, ComputePool? pool, CancellationToken cancellationToken)
    {
        // A throwaway run of the same options (own seed, own model, optimizer, strategy and buffers; a sink that keeps
        // nothing; no checkpoints; an engine of its own, never a GPU batch's), so that literally the run's code is
        // warm: the runner's per-batch methods, strategy hooks and telemetry as well as fill, loss and kernels. A
        // hand-built step that warmed only those last ones left the first pair of a fresh quick sweep at ≈ 0.6× its
        // kin, and with tiered compilation off the gap closed: what stayed cold was tiering state of code it did not run.
        var throwaway = options with
        {
            Seed = options.Seed ^ 0x5741524D57415254UL,
            WarmKernels = false,
            EngineInstance = null,
            CheckpointEveryBatches = 0,
            EpochsPerTask = 1_000, // keeps it on task 1's training until cancelled below
        };
        using var runner = new ContinualRunner(throwaway, data, DiscardingRunSink.Instance, pool);
        using var cancel = new CancellationTokenSource();
        var running = Task.Run(() => runner.RunAsync(checkpointDirectory: null, resumeFrom: null, cancel.Token));
        var clock = Stopwatch.StartNew();
        long compiled = JitInfo.GetCompiledMethodCount();
        var quietSince = TimeSpan.Zero;
        while (!running.IsCompleted)
        {
            Thread.Sleep(Poll);
            long now = JitInfo.GetCompiledMethodCount();
            var elapsed = clock.Elapsed;
            if (now != compiled)
            {
                compiled = now;
                quietSince = elapsed;
            }

            if ((elapsed >= Minimum && elapsed - quietSince >= Quiet) || elapsed >= Maximum || cancellationToken.IsCancellationRequested)
            {
                break;
            }
        }

        cancel.Cancel();
        try
        {
            running.GetAwaiter().GetResult(); // on the thread pool, so waiting here cannot deadlock
        }
        catch (OperationCanceledException)
        {
            // The way it ends.
        }
        catch (NonRetryableRunException)
        {
            // A cell file can overflow on the throwaway's data order as on a run's; the warm-up is not the run.
        }

        return true;
    }
}
