using System.Diagnostics;
using ForgetGate.Lab.Core.Runs;

namespace ForgetGate.Lab.Core.Training;

/// <summary>
/// Where an attempt's wall time went, in seconds: data preparation (assembling batches for training, evaluation and
/// probes), training (forward, backward, optimizer and strategy work: what is left), evaluation (the model on every
/// test set and the gate probes), checkpointing (writing the files) and store writes (every call to the sink).
/// The parts add up to <see cref="Wall"/>.
/// </summary>
public sealed record RunTimeSplit(double Wall, double Data, double Train, double Eval, double Checkpoint, double Store)
{
    /// <summary>Summary-row names of the parts, in the order the report shows them.</summary>
    public static readonly string[] Names = ["time_data_s", "time_train_s", "time_eval_s", "time_checkpoint_s", "time_store_s"];

    /// <summary>The split as run summary rows (stored, copied and reused with the run's other summaries).</summary>
    public IEnumerable<RunSummaryRow> ToSummaryRows()
    {
        yield return new(Names[0], "seconds assembling batches (training, evaluation, probes) in this attempt", Data);
        yield return new(Names[1], "seconds training (forward, backward, optimizer, strategy): wall time less the other parts", Train);
        yield return new(Names[2], "seconds evaluating every task and probing gates, batch assembly and store writes excluded", Eval);
        yield return new(Names[3], "seconds writing checkpoint files, store writes excluded", Checkpoint);
        yield return new(Names[4], "seconds in store writes (metric rows, curves, telemetry, progress, checkpoint records)", Store);
    }
}

/// <summary>Accumulates the parts of <see cref="RunTimeSplit"/> while a runner works.</summary>
internal sealed class RunClock(BatchBuffers buffers, TimedSink sink)
{
    private long _start = Stopwatch.GetTimestamp();
    private long _fill;
    private long _store;
    private long _eval;
    private long _checkpoint;

    /// <summary>Starts the split now (after the kernel warm-up, with the run's wall clock): earlier batch and store time is left out.</summary>
    public void Start()
    {
        _start = Stopwatch.GetTimestamp();
        _fill = buffers.FillTicks;
        _store = sink.Ticks;
        _eval = 0;
        _checkpoint = 0;
    }

    /// <summary>Runs an evaluation block and books its time, less batch assembly and store writes inside it, as evaluation.</summary>
    public async Task EvalAsync(Func<Task> block)
    {
        ArgumentNullException.ThrowIfNull(block);
        _eval += await NetAsync(block).ConfigureAwait(false);
    }

    /// <summary>Runs a checkpoint write and books its time, less store writes inside it, as checkpointing.</summary>
    public async Task CheckpointAsync(Func<Task> block)
    {
        ArgumentNullException.ThrowIfNull(block);
        _checkpoint += await NetAsync(block).ConfigureAwait(false);
    }

    /// <summary>The split so far.</summary>
    public RunTimeSplit Split()
    {
        long wall = Stopwatch.GetTimestamp() - _start;
        double f = Stopwatch.Frequency;
        long fill = buffers.FillTicks - _fill, store = sink.Ticks - _store;
        long train = wall - fill - store - _eval - _checkpoint;
        return new RunTimeSplit(wall / f, fill / f, Math.Max(0, train) / f, _eval / f, _checkpoint / f, store / f);
    }

    private async Task<long> NetAsync(Func<Task> block)
    {
        long fill = buffers.FillTicks, store = sink.Ticks, started = Stopwatch.GetTimestamp();
        await block().ConfigureAwait(false);
        return Stopwatch.GetTimestamp() - started - (buffers.FillTicks - fill) - (sink.Ticks - store);
    }
}

/// <summary>The run's sink with a clock: every write is timed (store writes in the time split).</summary>
internal sealed class TimedSink(IRunSink inner) : IRunSink
{
    /// <summary>Stopwatch ticks spent in the inner sink.</summary>
    public long Ticks { get; private set; }

    public Task WriteEvaluationsAsync(IReadOnlyList<EvaluationRow> rows, CancellationToken cancellationToken) => Time(() => inner.WriteEvaluationsAsync(rows, cancellationToken));

    public Task WriteTrainingCurveAsync(IReadOnlyList<TrainingCurveRow> rows, CancellationToken cancellationToken) => Time(() => inner.WriteTrainingCurveAsync(rows, cancellationToken));

    public Task WriteGateTelemetryAsync(IReadOnlyList<GateTelemetryRow> rows, CancellationToken cancellationToken) => Time(() => inner.WriteGateTelemetryAsync(rows, cancellationToken));

    public Task WriteGateStepsAsync(IReadOnlyList<GateStepRow> rows, CancellationToken cancellationToken) => Time(() => inner.WriteGateStepsAsync(rows, cancellationToken));

    public Task RecordCheckpointAsync(CheckpointRecord checkpoint, CancellationToken cancellationToken) => Time(() => inner.RecordCheckpointAsync(checkpoint, cancellationToken));

    public Task RecordDatasetFingerprintAsync(string fingerprint, CancellationToken cancellationToken) => Time(() => inner.RecordDatasetFingerprintAsync(fingerprint, cancellationToken));

    public Task ReportProgressAsync(double progress, string? note, CancellationToken cancellationToken) => Time(() => inner.ReportProgressAsync(progress, note, cancellationToken));

    public Task CompleteAsync(IReadOnlyList<RunSummaryRow> summary, CancellationToken cancellationToken) => Time(() => inner.CompleteAsync(summary, cancellationToken));

    private async Task Time(Func<Task> write)
    {
        long started = Stopwatch.GetTimestamp();
        try
        {
            await write().ConfigureAwait(false);
        }
        finally
        {
            Ticks += Stopwatch.GetTimestamp() - started;
        }
    }
}
