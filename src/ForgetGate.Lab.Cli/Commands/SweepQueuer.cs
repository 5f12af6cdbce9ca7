using System.CommandLine;
using System.Globalization;
using ForgetGate.Lab.Cli.Errors;
using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Core.Specs;
using ForgetGate.Lab.Storage;

namespace ForgetGate.Lab.Cli.Commands;

/// <summary>What queueing a plan did: the sweep, rows inserted, points the sweep already had, points filled from earlier sweeps.</summary>
internal sealed record QueueOutcome(long SweepId, int Points, int Queued, int AlreadyInSweep, IReadOnlyList<ReusedRun> Reused, bool ReuseEnabled)
{
    /// <summary>
    /// The line <c>run</c> and <c>queue</c> print about reuse, or null when every point was already in the sweep
    /// (then nothing was decided now, and "0 reused" would misread as "nothing was ever reused").
    /// </summary>
    public string? ReuseLine => Queued + Reused.Count == 0 ? null
        : !ReuseEnabled ? "reuse of earlier sweeps' runs is off (--no-reuse): every point this sweep does not have yet is computed"
        : string.Create(CultureInfo.InvariantCulture, $"{Reused.Count} of {Points} points reused from earlier sweeps{(Reused.Count == 0 ? "" : " (their finished runs are copied, not recomputed)")}");
}

/// <summary>
/// The one spec-to-queue path of <c>run</c> and <c>queue</c>: load a spec (its reader chosen by file type) into a plan,
/// then queue the sweep, then points finished in earlier sweeps, then the rest.
/// </summary>
internal static class SweepQueuer
{
    /// <summary>
    /// Loads <paramref name="file"/>: a YAML spec, or a JSON run list. A missing file, an unknown kind or a bad spec
    /// (or <c>--set</c>) throws before any store is touched: nothing is queued, no file is created.
    /// </summary>
    public static SweepPlan LoadPlan(FileInfo file, IReadOnlyList<string> overrides, long maxRuns = SpecReader.DefaultMaxRuns)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (!file.Exists)
        {
            throw new CliException(ExitCodes.BadInput, $"spec file '{file.FullName}' does not exist.");
        }

        ISweepSource[] readers = [new YamlSweepSource(overrides, maxRuns), new RunListSweepSource()];
        var source = readers.FirstOrDefault(r => r.CanRead(file.FullName))
            ?? throw new CliException(ExitCodes.BadInput, $"no spec reader for '{file.Name}' (known: .yaml/.yml specs, .json run lists).");
        try
        {
            return source.Load(file.FullName);
        }
        catch (FormatException e)
        {
            throw new CliException(ExitCodes.BadInput, e.Message, e);
        }
    }

    /// <summary>The <c>--max-runs</c> option of spec check, queue and run: the largest sweep they accept.</summary>
    public static Option<long> CreateMaxRunsOption() => new("--max-runs")
    {
        Description = "Accept a sweep of up to N runs (default 10,000): a larger one is refused before anything is expanded or queued.",
        DefaultValueFactory = _ => SpecReader.DefaultMaxRuns,
    };

    /// <summary>The <c>--no-reuse</c> option both commands share.</summary>
    public static Option<bool> CreateNoReuseOption() => new("--no-reuse")
    {
        Description = "Compute every point this sweep does not have yet, even when another sweep has a finished run with the same config hash.",
    };

    public static async Task<QueueOutcome> QueueAsync(IRunStore store, SweepPlan plan, int priority, int maxAttempts, bool reuse, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(plan);
        await store.MigrateAsync(cancellationToken).ConfigureAwait(false);
        long sweepId = await store.CreateSweepAsync(new NewSweep(plan.Name, plan.SpecText, plan.SpecHash), cancellationToken).ConfigureAwait(false);
        var runs = plan.Points.Select(p => new NewRun(p.ConfigJson, p.ConfigHash, p.Seed, p.Variant, priority, maxAttempts)).ToList();

        // Reuse first, so the queue then sees those points as already in the sweep and never queues them; each
        // reused run is its own transaction, so an interrupted call is completed by the next one.
        var reused = reuse ? await store.ReuseFinishedRunsAsync(sweepId, runs, cancellationToken).ConfigureAwait(false) : [];
        var queued = await store.EnqueueAsync(sweepId, runs, cancellationToken).ConfigureAwait(false);
        return new QueueOutcome(sweepId, plan.Points.Count, queued.Inserted, queued.Duplicates - reused.Count, reused, reuse);
    }
}
