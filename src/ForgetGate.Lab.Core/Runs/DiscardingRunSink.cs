namespace ForgetGate.Lab.Core.Runs;

/// <summary>
/// A sink that keeps nothing: for runs whose rows are not results (the kernel warm-up's throwaway run, benchmarks
/// and engine comparisons that read only the runner's outcome).
/// </summary>
public sealed class DiscardingRunSink : IRunSink
{
    /// <summary>The one instance; it has no state.</summary>
    public static readonly DiscardingRunSink Instance = new();

    private DiscardingRunSink()
    {
    }

    /// <inheritdoc />
    public Task WriteEvaluationsAsync(IReadOnlyList<EvaluationRow> rows, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task WriteTrainingCurveAsync(IReadOnlyList<TrainingCurveRow> rows, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task WriteGateTelemetryAsync(IReadOnlyList<GateTelemetryRow> rows, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task WriteGateStepsAsync(IReadOnlyList<GateStepRow> rows, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task RecordCheckpointAsync(CheckpointRecord checkpoint, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task RecordDatasetFingerprintAsync(string fingerprint, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task ReportProgressAsync(double progress, string? note, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task CompleteAsync(IReadOnlyList<RunSummaryRow> summary, CancellationToken cancellationToken) => Task.CompletedTask;
}
