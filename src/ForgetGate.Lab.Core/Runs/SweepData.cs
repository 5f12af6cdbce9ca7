namespace ForgetGate.Lab.Core.Runs;

// A sweep as stored, read back: the read model that the store fills (ForgetGate.Lab.Storage) and the report model is
// built from (ForgetGate.Lab.Reporting). It lives in Core so that both depend inward on it, not on each other.

/// <summary>A sweep's identity.</summary>
public sealed record SweepInfo(long Id, string Name, string SpecText, string SpecHash, string CreatedAt);

/// <summary>One run as stored, with its provenance; <paramref name="ReusedFrom"/> names the run of an earlier sweep it was copied from.</summary>
public sealed record StoredRun(
    long Id, string ConfigJson, string ConfigHash, string? Variant, long Seed, string Status, long Attempt, string? Error,
    string? StartedAt, string? FinishedAt, string? CodeVersion, string? Environment, string? DatasetFingerprint, long? ReusedFrom = null,
    double Progress = 0, string? ProgressNote = null);

/// <summary>An evaluation row of a run.</summary>
public sealed record StoredEvaluation(long RunId, int AfterTask, int Epoch, int EvalTask, string Metric, double Value);

/// <summary>A summary metric of a run.</summary>
public sealed record StoredSummary(long RunId, string Metric, string Convention, double Value);

/// <summary>Gate telemetry of a run (histogram: 20 bin fractions over [0, 1]).</summary>
public sealed record StoredGate(long RunId, int AfterTask, int Layer, int EvalTask, double Mean, double FracGt09, double FracLt01, IReadOnlyList<double> Histogram);

/// <summary>A training-curve point of a run.</summary>
public sealed record StoredLoss(long RunId, int Task, int Epoch, int Step, double Loss, double SamplesPerSecond);

/// <summary>Gates through time of a run (one layer, one probe batch, after one task or epoch).</summary>
public sealed record StoredGateSteps(long RunId, GateStepRow Row);

/// <summary>One claim of a run: its attempt number, the worker that held the lease, and when (ISO-8601 UTC).</summary>
public sealed record RunAttempt(int Attempt, string LeaseOwner, string ClaimedAt);

/// <summary>Everything stored for one sweep.</summary>
public sealed record SweepData(
    SweepInfo Sweep, IReadOnlyList<StoredRun> Runs, IReadOnlyList<StoredEvaluation> Evaluations, IReadOnlyList<StoredSummary> Summaries,
    IReadOnlyList<StoredGate> Gates, IReadOnlyList<StoredLoss> Losses, IReadOnlyList<StoredGateSteps> GateSteps);
