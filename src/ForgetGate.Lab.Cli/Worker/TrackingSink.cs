using ForgetGate.Lab.Core.Runs;

namespace ForgetGate.Lab.Cli.Worker;

/// <summary>Passes writes through and remembers whether the executor completed the run itself and recorded a checkpoint.</summary>
internal sealed class TrackingSink(IRunSink inner) : IRunSink
{
    public bool Completed { get; private set; }

    /// <summary>Whether a checkpoint was written and recorded in this attempt (the checkpoint storage works).</summary>
    public bool RecordedCheckpoint { get; private set; }

    public Task WriteEvaluationsAsync(IReadOnlyList<EvaluationRow> rows, CancellationToken cancellationToken) => inner.WriteEvaluationsAsync(rows, cancellationToken);

    public Task WriteTrainingCurveAsync(IReadOnlyList<TrainingCurveRow> rows, CancellationToken cancellationToken) => inner.WriteTrainingCurveAsync(rows, cancellationToken);

    public Task WriteGateTelemetryAsync(IReadOnlyList<GateTelemetryRow> rows, CancellationToken cancellationToken) => inner.WriteGateTelemetryAsync(rows, cancellationToken);

    public Task WriteGateStepsAsync(IReadOnlyList<GateStepRow> rows, CancellationToken cancellationToken) => inner.WriteGateStepsAsync(rows, cancellationToken);

    public async Task RecordCheckpointAsync(CheckpointRecord checkpoint, CancellationToken cancellationToken)
    {
        await inner.RecordCheckpointAsync(checkpoint, cancellationToken).ConfigureAwait(false);
        RecordedCheckpoint = true;
    }

    public Task RecordDatasetFingerprintAsync(string fingerprint, CancellationToken cancellationToken) => inner.RecordDatasetFingerprintAsync(fingerprint, cancellationToken);

    public Task ReportProgressAsync(double progress, string? note, CancellationToken cancellationToken) => inner.ReportProgressAsync(progress, note, cancellationToken);

    public async Task CompleteAsync(IReadOnlyList<RunSummaryRow> summary, CancellationToken cancellationToken)
    {
        await inner.CompleteAsync(summary, cancellationToken).ConfigureAwait(false);
        Completed = true;
    }
}
