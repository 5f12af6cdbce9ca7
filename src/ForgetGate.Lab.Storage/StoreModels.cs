using ForgetGate.Lab.Core.Runs;

namespace ForgetGate.Lab.Storage;

/// <summary>A sweep to create: its name, the spec text as given, and the spec's SHA-256.</summary>
public sealed record NewSweep(string Name, string SpecText, string SpecHash);

/// <summary>A run to queue: the resolved config (canonical JSON) and its SHA-256, seed and scheduling knobs.</summary>
public sealed record NewRun(string ConfigJson, string ConfigHash, long Seed, string? Variant = null, int Priority = 0, int MaxAttempts = 3, string? DatasetFingerprint = null);

/// <summary>Result of queueing: rows inserted and points skipped because their config hash was already queued.</summary>
public sealed record EnqueueResult(int Inserted, int Duplicates);

/// <summary>
/// Who claims and for how long; the code version and environment JSON are stored on the run; <paramref name="SweepId"/>
/// limits the claim to one sweep. <paramref name="Shared"/>: the claiming process may run other runs beside this one
/// (several slots, or a batch), so if its lease expires (the process died) the attempt is not counted and the run is
/// quarantined. <paramref name="AllowQuarantined"/>: the claimer runs nothing else now and will run nothing else while a
/// quarantined run it takes is running; false skips quarantined runs.
/// </summary>
public sealed record ClaimRequest(string Owner, TimeSpan Lease, string? CodeVersion = null, string? EnvironmentJson = null, long? SweepId = null, bool Shared = false, bool AllowQuarantined = true);

/// <summary>A run this worker now holds a lease on; <paramref name="Quarantined"/>: it must run alone in its process (see <see cref="ClaimRequest"/>).</summary>
public sealed record ClaimedRun(long RunId, long SweepId, string ConfigJson, string ConfigHash, long Seed, int Attempt, int MaxAttempts, string LeaseToken, CheckpointRecord? LastCheckpoint, bool Quarantined = false);

/// <summary>A successful heartbeat: whether someone asked to cancel the run.</summary>
public sealed record HeartbeatResult(bool CancelRequested);

/// <summary>Run lifecycle states as stored in <c>runs.status</c>.</summary>
public static class RunStatus
{
    /// <summary>Waiting to be claimed.</summary>
    public const string Queued = "queued";

    /// <summary>Claimed under a lease.</summary>
    public const string Running = "running";

    /// <summary>Completed with a summary.</summary>
    public const string Succeeded = "succeeded";

    /// <summary>Given up: non-retryable error or attempts used up.</summary>
    public const string Failed = "failed";

    /// <summary>Cancelled on request.</summary>
    public const string Cancelled = "cancelled";
}

/// <summary>A row of <c>runs</c> as the CLI and tests read it.</summary>
public sealed class RunRecord
{
    /// <summary>Run id.</summary>
    public long Id { get; init; }

    /// <summary>Sweep id.</summary>
    public long SweepId { get; init; }

    /// <summary>Resolved config JSON.</summary>
    public string ConfigJson { get; init; } = "";

    /// <summary>SHA-256 of the config.</summary>
    public string ConfigHash { get; init; } = "";

    /// <summary>Seed.</summary>
    public long Seed { get; init; }

    /// <summary>One of <see cref="RunStatus"/>.</summary>
    public string Status { get; init; } = "";

    /// <summary>Priority (higher first).</summary>
    public long Priority { get; init; }

    /// <summary>Attempts counted so far.</summary>
    public long Attempt { get; init; }

    /// <summary>Attempts allowed.</summary>
    public long MaxAttempts { get; init; }

    /// <summary>Current lease token, if running.</summary>
    public string? LeaseToken { get; init; }

    /// <summary>Current (or last) lease owner.</summary>
    public string? LeaseOwner { get; init; }

    /// <summary>Progress in [0, 1].</summary>
    public double Progress { get; init; }

    /// <summary>Error message of a failed run.</summary>
    public string? Error { get; init; }

    /// <summary>Whether cancellation was requested (0/1).</summary>
    public long CancelRequested { get; init; }
}

/// <summary>A sweep and how many of its runs are in each status.</summary>
public sealed record SweepStatus(long SweepId, string Name, long Queued, long Running, long Succeeded, long Failed, long Cancelled, double MeanProgress);

/// <summary>A point of a sweep filled from a finished run of another sweep: <paramref name="RunId"/> is the new run, a copy of <paramref name="SourceRunId"/>.</summary>
public sealed record ReusedRun(string ConfigHash, long SourceRunId, long RunId);
