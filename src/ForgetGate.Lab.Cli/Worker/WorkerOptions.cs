using Microsoft.Extensions.Options;

namespace ForgetGate.Lab.Cli.Worker;

/// <summary>Settings of <c>forgetgate worker</c> (command-line flags override the <c>Worker</c> configuration section).</summary>
internal sealed class WorkerOptions
{
    public const string SectionName = "Worker";

    /// <summary>Database: a SQLite file path.</summary>
    public string Database { get; set; } = Storage.RunStores.DefaultDatabase;

    /// <summary>Runs executed at once by this process.</summary>
    public int Concurrency { get; set; } = 1;

    /// <summary>Compute threads each run may use.</summary>
    public int ThreadsPerRun { get; set; } = 1;

    /// <summary>Lease length; a worker silent for this long loses its run to a rescue.</summary>
    public double LeaseSeconds { get; set; } = 60;

    /// <summary>Heartbeat period; must be well under the lease.</summary>
    public double HeartbeatSeconds { get; set; } = 15;

    /// <summary>Idle poll period when the queue is empty.</summary>
    public double PollSeconds { get; set; } = 2;

    /// <summary>Longest back-off while the store is read-only, full or unreachable.</summary>
    public double StoreRetryMaxSeconds { get; set; } = 60;

    /// <summary>Exit when no run is queued or running.</summary>
    public bool UntilEmpty { get; set; }

    /// <summary>Where runs keep checkpoints (one sub-directory per run); default: <c>checkpoints</c> beside the database.</summary>
    public string? CheckpointRoot { get; set; }

    /// <summary>Lease owner name; default host:pid.</summary>
    public string? Owner { get; set; }

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

        if (options.Concurrency is < 1 or > 256)
        {
            errors.Add($"--concurrency {options.Concurrency}: expected 1..256.");
        }

        if (options.ThreadsPerRun is < 1 or > 1024)
        {
            errors.Add($"--threads-per-run {options.ThreadsPerRun}: expected 1..1024.");
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

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
