using Microsoft.Extensions.Logging;

namespace ForgetGate.Lab.Cli.Worker;

/// <summary>Source-generated log messages of the worker; the texts are what researchers grep for.</summary>
internal static partial class WorkerLog
{
    [LoggerMessage(1, LogLevel.Information, "Worker {Owner} started on {Database}: {Concurrency} slot(s), {ThreadsPerRun} thread(s) per run, lease {LeaseSeconds}s, heartbeat {HeartbeatSeconds}s")]
    public static partial void Started(ILogger logger, string owner, string database, int concurrency, int threadsPerRun, double leaseSeconds, double heartbeatSeconds);

    [LoggerMessage(2, LogLevel.Information, "Applied {Count} migration(s)")]
    public static partial void Migrated(ILogger logger, int count);

    [LoggerMessage(3, LogLevel.Information, "Claimed run {RunId} attempt {Attempt}/{MaxAttempts} (slot {Slot}, resume from {Checkpoint})")]
    public static partial void Claimed(ILogger logger, long runId, int attempt, int maxAttempts, int slot, string checkpoint);

    [LoggerMessage(4, LogLevel.Information, "Run {RunId} succeeded in {Seconds:F2}s")]
    public static partial void Succeeded(ILogger logger, long runId, double seconds);

    [LoggerMessage(5, LogLevel.Warning, "Run {RunId} lost its lease; abandoning it (another worker owns it or it was rescued)")]
    public static partial void LeaseLost(ILogger logger, long runId);

    [LoggerMessage(6, LogLevel.Information, "Run {RunId} released back to the queue on shutdown (released: {Released})")]
    public static partial void Released(ILogger logger, long runId, bool released);

    [LoggerMessage(7, LogLevel.Information, "Run {RunId} cancelled on request")]
    public static partial void Cancelled(ILogger logger, long runId);

    [LoggerMessage(8, LogLevel.Error, "Run {RunId} failed (non-retryable): {Message}")]
    public static partial void FailedNonRetryable(ILogger logger, long runId, string message);

    [LoggerMessage(9, LogLevel.Error, "Run {RunId} failed on attempt {Attempt}/{MaxAttempts}; it will be retried")]
    public static partial void FailedRetryable(ILogger logger, Exception exception, long runId, int attempt, int maxAttempts);

    // Said apart from FailedRetryable: on the last attempt nothing is retried, and the log must not promise it.
    [LoggerMessage(21, LogLevel.Error, "Run {RunId} failed on its last attempt ({Attempt}/{MaxAttempts}); it is marked failed ('forgetgate retry {RunId}' queues it again)")]
    public static partial void FailedLastAttempt(ILogger logger, Exception exception, long runId, int attempt, int maxAttempts);

    [LoggerMessage(10, LogLevel.Error, "Store unavailable ({Fault}): {Message} Not claiming; retrying in {DelaySeconds:F1}s")]
    public static partial void StoreUnavailable(ILogger logger, Storage.StoreFault fault, string message, double delaySeconds);

    [LoggerMessage(11, LogLevel.Information, "Store is writable again; claiming resumes")]
    public static partial void StoreRecovered(ILogger logger);

    [LoggerMessage(12, LogLevel.Warning, "Rescued {Count} run(s) whose lease expired")]
    public static partial void Rescued(ILogger logger, int count);

    [LoggerMessage(13, LogLevel.Information, "Queue is empty; worker exits (--until-empty)")]
    public static partial void Drained(ILogger logger);

    [LoggerMessage(14, LogLevel.Warning, "Run {RunId}: the store refused a write ({Message}); the run is abandoned and will be retried after its lease expires")]
    public static partial void RunStoreFault(ILogger logger, long runId, string message);

    [LoggerMessage(15, LogLevel.Warning, "Heartbeat of run {RunId} failed: {Message}")]
    public static partial void HeartbeatFailed(ILogger logger, long runId, string message);

    [LoggerMessage(16, LogLevel.Critical, "Worker stopped by an unexpected error")]
    public static partial void Crashed(ILogger logger, Exception exception);

    [LoggerMessage(18, LogLevel.Error, "Store error: {Message} Retrying in {DelaySeconds:F1}s")]
    public static partial void StoreError(ILogger logger, string message, double delaySeconds);

    [LoggerMessage(17, LogLevel.Warning, "Bookkeeping for run {RunId} failed after {Outcome}")]
    public static partial void BookkeepingFailed(ILogger logger, Exception exception, long runId, string outcome);

    [LoggerMessage(19, LogLevel.Warning, "Run {RunId}: store unreachable while writing ({Message}); retrying in {DelaySeconds:F1}s, giving the run up after {BudgetSeconds:F1}s")]
    public static partial void RunWriteRetry(ILogger logger, long runId, string message, double delaySeconds, double budgetSeconds);

    [LoggerMessage(20, LogLevel.Information, "Run {RunId}: store reachable again after {Seconds:F1}s; the run continues")]
    public static partial void RunWriteRecovered(ILogger logger, long runId, double seconds);

    [LoggerMessage(22, LogLevel.Information, "{Choice}")]
    public static partial void ConcurrencyChosen(ILogger logger, string choice);

    [LoggerMessage(23, LogLevel.Warning, "Run {RunId}: checkpoint storage '{Path}' {Why}; the run is released without spending an attempt (released: {Released}) and resumes from its last checkpoint")]
    public static partial void CheckpointOutage(ILogger logger, long runId, string path, string why, bool released);

    [LoggerMessage(24, LogLevel.Error, "Checkpoint storage unavailable: '{Path}' {Why}. Not claiming; retrying in {DelaySeconds:F1}s (outage for {WaitedSeconds:F1}s{Bound})")]
    public static partial void CheckpointStorageUnavailable(ILogger logger, string path, string why, double delaySeconds, double waitedSeconds, string bound);

    [LoggerMessage(25, LogLevel.Information, "Checkpoint storage '{Path}' is writable again; claiming resumes")]
    public static partial void CheckpointStorageRecovered(ILogger logger, string path);

    [LoggerMessage(27, LogLevel.Information, "Run {RunId} is quarantined (its lease once expired in a shared process): it runs alone here, and no other run is claimed until it ends")]
    public static partial void RunningAlone(ILogger logger, long runId);

    [LoggerMessage(26, LogLevel.Critical, "Giving up: {Message}")]
    public static partial void GaveUp(ILogger logger, string message);
}
