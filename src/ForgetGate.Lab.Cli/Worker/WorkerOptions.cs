using Microsoft.Extensions.Options;

namespace ForgetGate.Lab.Cli.Worker;

/// <summary>Settings of <c>forgetgate worker</c> (command-line flags override the <c>Worker</c> configuration section).</summary>
internal sealed class WorkerOptions
{
    public const string SectionName = "Worker";

    /// <summary>Database: a SQLite file path.</summary>
    public string Database { get; set; } = Storage.RunStores.DefaultDatabase;

    /// <summary>The value of <see cref="Concurrency"/> and <see cref="ThreadsPerRun"/> that means "auto".</summary>
    public const int Auto = -1;

    /// <summary>Runs executed at once by this process; <see cref="Auto"/> (the default): <see cref="ConcurrencyRule"/> decides.</summary>
    public int Concurrency { get; set; } = Auto;

    /// <summary>Compute threads each run may use; <see cref="Auto"/> (the default): the rule, or the cores shared out between the given runs.</summary>
    public int ThreadsPerRun { get; set; } = Auto;

    /// <summary>Largest hidden size and batch of the work, and how many runs there are, when the caller knows them (<c>run</c>).</summary>
    public (int? Hidden, int? Batch, int? Points) AutoHint { get; set; }

    /// <summary>How auto settled <see cref="Concurrency"/> × <see cref="ThreadsPerRun"/>, printed at start; null when both were given.</summary>
    public string? ConcurrencyChoice { get; set; }

    /// <summary>Replaces the <see cref="Auto"/> values with the rule's choice for <paramref name="cores"/> cores and records why.</summary>
    public void ResolveAuto(int cores)
    {
        if ((Concurrency != Auto && ThreadsPerRun != Auto) || Concurrency is 0 or < Auto || ThreadsPerRun is 0 or < Auto)
        {
            return; // nothing to choose, or an invalid count the validator names
        }

        var (hidden, batch, points) = AutoHint;
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        if (Concurrency == Auto && ThreadsPerRun == Auto)
        {
            var choice = ConcurrencyRule.Choose(cores, hidden, batch, points);
            Concurrency = choice.Runs;
            ThreadsPerRun = choice.ThreadsPerRun;
            ConcurrencyChoice = string.Create(inv, $"concurrency auto: {choice.Runs} run(s) at once × {choice.ThreadsPerRun} thread(s) each ({choice.Reason})");
        }
        else if (Concurrency == Auto)
        {
            Concurrency = Math.Max(1, cores / ThreadsPerRun);
            if (points is { } n && n >= 1)
            {
                Concurrency = Math.Min(Concurrency, n);
            }

            ConcurrencyChoice = string.Create(inv, $"concurrency auto: {Concurrency} run(s) at once × {ThreadsPerRun} thread(s) each ({cores} cores shared out at the given threads per run)");
        }
        else
        {
            ThreadsPerRun = Math.Max(1, cores / Concurrency);
            ConcurrencyChoice = string.Create(inv, $"threads per run auto: {Concurrency} run(s) at once × {ThreadsPerRun} thread(s) each ({cores} cores shared out)");
        }
    }

    /// <summary>Lease length; a worker silent for this long loses its run to a rescue.</summary>
    public double LeaseSeconds { get; set; } = 60;

    /// <summary>Heartbeat period; must be well under the lease.</summary>
    public double HeartbeatSeconds { get; set; } = 15;

    /// <summary>Idle poll period when the queue is empty.</summary>
    public double PollSeconds { get; set; } = 2;

    /// <summary>Longest back-off while the store is read-only, full or unreachable.</summary>
    public double StoreRetryMaxSeconds { get; set; } = 60;

    /// <summary>
    /// How long an outage (store or checkpoint storage read-only, full or unreachable) may last before the worker stops
    /// waiting and ends, its runs released and resumable; null (the worker's default): wait for as long as it takes.
    /// <c>run</c> sets it (<c>--outage-wait</c>, default <see cref="RunOutageWaitSeconds"/>) and then exits with 3.
    /// </summary>
    public double? OutageWaitSeconds { get; set; }

    /// <summary><c>run</c>'s default bound on an outage: long enough to ride out a restart, short enough that a script learns.</summary>
    public const double RunOutageWaitSeconds = 300;

    /// <summary>Exit when no run is queued or running.</summary>
    public bool UntilEmpty { get; set; }

    /// <summary>Where runs keep checkpoints (one sub-directory per run); default: <c>checkpoints</c> beside the database.</summary>
    public string? CheckpointRoot { get; set; }

    /// <summary>Lease owner name; default host:pid.</summary>
    public string? Owner { get; set; }

    /// <summary>
    /// <c>--gpu</c>: each slot claims up to this many queued runs of one batch key (<see cref="GpuBatchKey"/>) and trains
    /// them together on the gpu engine; 0 (the default): runs are claimed one at a time.
    /// </summary>
    public int GpuBatch { get; set; }

    /// <summary>Work only this sweep (and, with <see cref="UntilEmpty"/>, stop when it is done); null: every sweep.</summary>
    public long? SweepId { get; set; }
}

/// <summary>Checks <see cref="WorkerOptions"/> once at start-up with messages that name the flag and the value.</summary>
internal sealed class WorkerOptionsValidator : IValidateOptions<WorkerOptions>
{
    public ValidateOptionsResult Validate(string? name, WorkerOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Database))
        {
            errors.Add("--db: empty; expected a SQLite file path or a postgres:// URL.");
        }

        // Auto is resolved before validation (WorkerHost); what is left must be a real count.
        if (options.Concurrency is < 1 or > 256)
        {
            errors.Add($"--concurrency {options.Concurrency}: expected auto or 1..256.");
        }

        if (options.ThreadsPerRun is < 1 or > 1024)
        {
            errors.Add($"--threads-per-run {options.ThreadsPerRun}: expected auto or 1..1024.");
        }

        if (!(options.LeaseSeconds is >= 0.5 and <= 86_400))
        {
            errors.Add($"--lease-seconds {options.LeaseSeconds}: expected 0.5..86400.");
        }

        if (!(options.HeartbeatSeconds > 0 && options.HeartbeatSeconds <= options.LeaseSeconds / 2))
        {
            errors.Add($"--heartbeat-seconds {options.HeartbeatSeconds}: expected > 0 and at most half of --lease-seconds ({options.LeaseSeconds}) so one missed beat does not lose the lease.");
        }

        if (!(options.PollSeconds > 0 && options.PollSeconds <= 3600))
        {
            errors.Add($"Worker:PollSeconds {options.PollSeconds}: expected (0, 3600].");
        }

        if (!(options.StoreRetryMaxSeconds > 0))
        {
            errors.Add($"Worker:StoreRetryMaxSeconds {options.StoreRetryMaxSeconds}: expected > 0.");
        }

        if (options.OutageWaitSeconds is { } wait && !(wait > 0 && wait <= 7 * 86_400))
        {
            errors.Add($"--outage-wait {wait}: expected seconds in (0, 604800].");
        }

        if (options.GpuBatch is < 0 or > 4096)
        {
            errors.Add($"--gpu-batch {options.GpuBatch}: expected 1..4096 runs trained together.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
