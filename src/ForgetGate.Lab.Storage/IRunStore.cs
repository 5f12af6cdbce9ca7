using ForgetGate.Lab.Core.Runs;

namespace ForgetGate.Lab.Storage;

/// <summary>
/// The durable store and queue (DESIGN.md §8). One implementation over a <see cref="SqlDialect"/> per provider
/// (SQLite now, PostgreSQL later); every method opens its own connection (one connection per unit of work).
/// Methods throw <see cref="StoreUnavailableException"/> when the database is read-only, full or cannot be opened.
/// </summary>
public interface IRunStore
{
    /// <summary>A display form of where the store lives (file path or host/database).</summary>
    string Location { get; }

    /// <summary>Applies the numbered migrations not applied yet; safe when several processes call it at once.</summary>
    Task<int> MigrateAsync(CancellationToken cancellationToken);

    /// <summary>Returns the id of the sweep with this name and spec hash, creating it if new.</summary>
    Task<long> CreateSweepAsync(NewSweep sweep, CancellationToken cancellationToken);

    /// <summary>Queues runs; a config hash already present in the sweep is skipped (one run per point).</summary>
    Task<EnqueueResult> EnqueueAsync(long sweepId, IReadOnlyList<NewRun> runs, CancellationToken cancellationToken);

    /// <summary>Requeues running runs whose lease expired (or fails them once attempts are used up); returns how many.</summary>
    Task<int> RescueExpiredAsync(CancellationToken cancellationToken);

    /// <summary>Claims the next queued run (highest priority, then oldest) with a fresh lease, or null when none is queued.</summary>
    Task<ClaimedRun?> ClaimAsync(ClaimRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Claims the next queued run as <see cref="ClaimAsync"/> does, then up to <paramref name="maxRuns"/> − 1 more queued
    /// runs whose <paramref name="keyOf"/>(config_json) equals the first run's (in queue order, among a bounded look-ahead),
    /// each with its own lease token, attempt and audit row, so that a worker can train them together. A null key
    /// means "trains alone": the first run is returned by itself. Empty when nothing is queued.
    /// </summary>
    Task<IReadOnlyList<ClaimedRun>> ClaimMatchingAsync(ClaimRequest request, int maxRuns, Func<string, string?> keyOf, CancellationToken cancellationToken);

    /// <summary>Extends the lease; null when the lease is lost, else whether cancellation was requested.</summary>
    Task<HeartbeatResult?> HeartbeatAsync(long runId, string leaseToken, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>Gives the run back to the queue without burning the attempt (graceful shutdown); false when the lease was already lost.</summary>
    Task<bool> ReleaseAsync(long runId, string leaseToken, CancellationToken cancellationToken);

    /// <summary>Records a failure: retryable ones requeue until max_attempts, non-retryable ones fail at once.</summary>
    Task<bool> FailAsync(long runId, string leaseToken, string message, bool retryable, CancellationToken cancellationToken);

    /// <summary>Marks a running run whose cancellation was requested as cancelled.</summary>
    Task<bool> MarkCancelledAsync(long runId, string leaseToken, CancellationToken cancellationToken);

    /// <summary>Requests cancellation: a queued run is cancelled at once, a running one at its next heartbeat.</summary>
    Task<bool> RequestCancelAsync(long runId, CancellationToken cancellationToken);

    /// <summary>Queues a failed or cancelled run again with fresh attempts; false when it is not failed or cancelled.</summary>
    Task<bool> RetryAsync(long runId, CancellationToken cancellationToken);

    /// <summary>The fenced writer an executor uses for a claimed run.</summary>
    IRunSink OpenSink(ClaimedRun run);

    /// <summary>One run's row (null if absent).</summary>
    Task<RunRecord?> GetRunAsync(long runId, CancellationToken cancellationToken);

    /// <summary>Every claim of a run (attempt, owner, time), oldest first: its log of attempts.</summary>
    Task<IReadOnlyList<RunAttempt>> GetAttemptsAsync(long runId, CancellationToken cancellationToken);

    /// <summary>
    /// A short text that changes whenever anything a sweep's report shows changes (run statuses and progress, counts of
    /// metric, curve and gate rows), so a live view re-renders only then.
    /// </summary>
    Task<string> GetSweepVersionAsync(long sweepId, CancellationToken cancellationToken);

    /// <summary>A run's recorded checkpoints, oldest position first (the last one holds its final model once it succeeded).</summary>
    Task<IReadOnlyList<CheckpointRecord>> GetCheckpointsAsync(long runId, CancellationToken cancellationToken);

    /// <summary>Sweeps with run counts per status and mean progress.</summary>
    Task<IReadOnlyList<SweepStatus>> GetStatusAsync(CancellationToken cancellationToken);

    /// <summary>The sweep named by its id or name (the newest of that name), or null.</summary>
    Task<SweepInfo?> FindSweepAsync(string idOrName, CancellationToken cancellationToken);

    /// <summary>Everything stored for a sweep's runs, for reports and exports.</summary>
    Task<SweepData> LoadSweepAsync(long sweepId, CancellationToken cancellationToken);

    /// <summary>
    /// Adds to the sweep, as succeeded runs, the given points it does not have yet whose config hash has a succeeded run
    /// elsewhere in the store: each gets a copy of that run's rows and provenance, one transaction per run, so a crash
    /// leaves whole runs or none and a repeat adds nothing twice. Returns the runs added (to be skipped by the queue).
    /// </summary>
    Task<IReadOnlyList<ReusedRun>> ReuseFinishedRunsAsync(long sweepId, IReadOnlyList<NewRun> runs, CancellationToken cancellationToken);
}
