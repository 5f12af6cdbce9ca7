namespace ForgetGate.Lab.Core.Runs;

/// <summary>
/// The only way an executor writes results. Every call is fenced by (run id, lease token) in the same
/// transaction as the write; when the lease is gone nothing is written and <see cref="LeaseLostException"/> is thrown.
/// Metric writes are upserts on their natural keys, so a resumed attempt may repeat them safely.
/// </summary>
public interface IRunSink
{
    /// <summary>Upserts evaluation rows keyed (run, after_task, epoch, eval_task, metric).</summary>
    Task WriteEvaluationsAsync(IReadOnlyList<EvaluationRow> rows, CancellationToken cancellationToken);

    /// <summary>Upserts training-curve rows keyed (run, task, epoch, step).</summary>
    Task WriteTrainingCurveAsync(IReadOnlyList<TrainingCurveRow> rows, CancellationToken cancellationToken);

    /// <summary>Upserts gate telemetry rows keyed (run, after_task, layer, eval_task).</summary>
    Task WriteGateTelemetryAsync(IReadOnlyList<GateTelemetryRow> rows, CancellationToken cancellationToken);

    /// <summary>Upserts gates-through-time rows keyed (run, after_task, epoch, layer, eval_task).</summary>
    Task WriteGateStepsAsync(IReadOnlyList<GateStepRow> rows, CancellationToken cancellationToken);

    /// <summary>Records a checkpoint file (already written and flushed) that a later attempt resumes from.</summary>
    Task RecordCheckpointAsync(CheckpointRecord checkpoint, CancellationToken cancellationToken);

    /// <summary>Records the SHA-256 fingerprint of the dataset files the run reads (DESIGN.md §9).</summary>
    Task RecordDatasetFingerprintAsync(string fingerprint, CancellationToken cancellationToken);

    /// <summary>Stores progress in [0, 1] and a short human-readable note.</summary>
    Task ReportProgressAsync(double progress, string? note, CancellationToken cancellationToken);

    /// <summary>Writes the run summary and marks the run succeeded, atomically.</summary>
    Task CompleteAsync(IReadOnlyList<RunSummaryRow> summary, CancellationToken cancellationToken);
}
