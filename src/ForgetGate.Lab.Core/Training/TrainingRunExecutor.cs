using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Numerics.Engines;
using ForgetGate.Lab.Numerics.Threading;

namespace ForgetGate.Lab.Core.Training;

/// <summary>What one run needs, resolved from its stored config: run options, the task sequence, and facts to record.</summary>
public sealed record RunPlan(ContinualRunOptions Options, ITaskSource Tasks, string DatasetFingerprint);

/// <summary>Turns a run's canonical config JSON into a <see cref="RunPlan"/>; throws <see cref="NonRetryableRunException"/> for a config or dataset a retry cannot fix.</summary>
public interface IRunPlanFactory
{
    /// <summary>Resolves the plan for a config.</summary>
    RunPlan Create(string configJson);
}

/// <summary>
/// The worker's executor for real training runs: resolves the plan, trains (resuming from the last checkpoint of an
/// earlier attempt), then completes the run with its summary metrics computed from R by <paramref name="summarise"/>.
/// </summary>
public sealed class TrainingRunExecutor(IRunPlanFactory plans, Func<RunPlan, double[,], IReadOnlyList<RunSummaryRow>> summarise) : IRunExecutor
{
    /// <summary>Configs without an <c>executor</c> field are training runs.</summary>
    public const string ExecutorName = "training";

    /// <inheritdoc />
    public string Name => ExecutorName;

    /// <summary>Live progress of every run this executor works on, by run id (for the console), if anyone listens.</summary>
    public Action<long, RunProgress>? OnProgress { get; init; }

    /// <inheritdoc />
    public async Task ExecuteAsync(RunContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var plan = plans.Create(context.ConfigJson);
        await context.Sink.RecordDatasetFingerprintAsync(plan.DatasetFingerprint, cancellationToken).ConfigureAwait(false);
        using var pool = new ComputePool(Math.Max(1, context.ThreadsPerRun));
        var progress = OnProgress is { } report ? new RunProgressRelay(context.RunId, report) : null;
        ContinualRunner runner;
        try
        {
            runner = new ContinualRunner(plan.Options with { WarmKernels = true, EngineInstance = context.Engine }, plan.Tasks, context.Sink, pool, progress);
        }
        catch (EngineUnavailableException e)
        {
            // Another attempt on this machine cannot load the library either: fail the run with the sentence, keep the worker.
            throw new NonRetryableRunException(e.Message, e);
        }

        using var owned = runner;
        string? resume = context.LastCheckpoint is { } last && File.Exists(last.Path) ? last.Path : null;
        var outcome = await runner.RunAsync(context.CheckpointDirectory, resume, cancellationToken).ConfigureAwait(false);
        var summary = new List<RunSummaryRow>(summarise(plan, outcome.Scores))
        {
            new("wall_seconds", "wall time of this attempt", outcome.WallTime.TotalSeconds),
            new("train_samples_per_s", "training throughput of the last task", outcome.TrainSamplesPerSecond),
        };
        summary.AddRange(StrategySummary(outcome.Strategy));
        if (outcome.TimeSplit is { } split)
        {
            summary.AddRange(split.ToSummaryRows());
        }

        await context.Sink.CompleteAsync(summary, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The strategy's own figures as summary rows (none for strategies that keep nothing).</summary>
    public static IEnumerable<RunSummaryRow> StrategySummary(Strategies.StrategyFigures figures)
    {
        if (figures.StateBytes == 0 && figures.Samples == 0)
        {
            yield break;
        }

        yield return new("strategy_memory_samples", "samples in the strategy's buffer or episodic memory at the end (references, not copies; LwF: samples with recorded f_old outputs)", figures.Samples);
        yield return new("strategy_memory_bytes", "bytes of that memory: 8 per sample reference plus stored outputs (DER++ logits, LwF's f_old outputs)", figures.MemoryBytes);
        yield return new("strategy_state_bytes", "bytes of all strategy state (memory, snapshots, importances, running sums, gradient work vectors)", figures.StateBytes);
        if (double.IsFinite(figures.ProjectedFraction))
        {
            yield return new("strategy_projected_fraction", "share of training steps whose gradient A-GEM/GEM projected", figures.ProjectedFraction);
        }
    }
}

/// <summary>Forwards a runner's progress synchronously, tagged with its run id.</summary>
internal sealed class RunProgressRelay(long runId, Action<long, RunProgress> report) : IProgress<RunProgress>
{
    public void Report(RunProgress value) => report(runId, value);
}
