using System.CommandLine;
using System.Globalization;
using ForgetGate.Lab.Cli.Errors;
using ForgetGate.Lab.Cli.Progress;
using ForgetGate.Lab.Cli.Worker;
using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Core.Specs;
using ForgetGate.Lab.Reporting;
using ForgetGate.Lab.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ForgetGate.Lab.Cli.Commands;

/// <summary>
/// <c>forgetgate run SPEC</c>: the one-shot path. Queues the sweep (points already done in this sweep are kept, and points
/// finished in earlier sweeps are reused, so re-running and growing a spec are cheap), works the queue with a local
/// worker until it is empty, prints the comparison and writes the report.
/// </summary>
internal static class RunCommand
{
    public static Command Create(Action<IServiceCollection>? workerServices = null)
    {
        var spec = new Argument<FileInfo>("SPEC") { Description = "Experiment spec (.yaml)." };
        var db = CliDatabase.CreateOption();
        var set = new Option<string[]>("--set") { Description = "Override a spec field, e.g. --set model.hidden=64 (repeatable; [a,b] sweeps)." };
        var threads = new Option<int?>("--threads") { Description = "Compute threads per run (default: auto; results do not depend on it)." };
        var concurrency = new Option<string>("--concurrency") { Description = "Runs executed at once: auto (chosen from the cores and the model size, printed) or a number.", DefaultValueFactory = _ => "auto" };
        var output = new Option<string?>("--out") { Description = "Report folder (default results/<sweep name>)." };
        var noReuse = SweepQueuer.CreateNoReuseOption();
        var maxRuns = SweepQueuer.CreateMaxRunsOption();
        var outageWait = new Option<double>("--outage-wait")
        {
            Description = "Seconds to wait out a store or checkpoint storage that is read-only, full or unreachable before giving up with exit code 3 (runs stay queued, no attempt spent).",
            DefaultValueFactory = _ => WorkerOptions.RunOutageWaitSeconds,
        };
        var command = new Command("run", "Queue a spec's sweep, run it here until done, and write its report.\nExample: forgetgate run experiments/quick.yaml --set seed=[1,2,3]")
        {
            spec, db, set, threads, concurrency, output, noReuse, maxRuns, outageWait,
        };

        command.SetAction(async (parse, cancellationToken) =>
        {
            double outageSeconds = parse.GetValue(outageWait);
            if (!double.IsFinite(outageSeconds) || outageSeconds < 0)
            {
                // Refused before anything is queued, like every other bad option.
                throw new Errors.CliException(Errors.ExitCodes.BadInput, string.Create(CultureInfo.InvariantCulture, $"--outage-wait {outageSeconds}: expected a number of seconds, 0 or more."));
            }

            string database = CliDatabase.Resolve(parse.GetValue(db));
            var plan = SweepQueuer.LoadPlan(parse.GetValue(spec)!, parse.GetValue(set) ?? [], parse.GetValue(maxRuns));
            Directory.CreateDirectory(RunStores.LocalDirectory(database));
            var store = CliDatabase.Open(database);
            var queued = await SweepQueuer.QueueAsync(store, plan, plan.Priority ?? 0, plan.MaxAttempts ?? 3, reuse: !parse.GetValue(noReuse), cancellationToken).ConfigureAwait(false);
            long sweepId = queued.SweepId;
            var inv = CultureInfo.InvariantCulture;
            Console.WriteLine(string.Create(inv, $"sweep {sweepId} '{plan.Name}': {plan.Points.Count} run(s); {queued.Queued} newly queued, {queued.AlreadyInSweep} already in this sweep (done ones are reused)"));
            if (queued.ReuseLine is { } reuseLine)
            {
                Console.WriteLine(reuseLine);
            }

            int runs = ConcurrencyRule.Parse(parse.GetValue(concurrency) ?? "auto", "--concurrency") ?? WorkerOptions.Auto;
            var hint = ConcurrencyRule.LargestModel(plan.Points.Select(p => p.ConfigJson));
            // Each run is labelled by every field the sweep varies (as the report groups them), so naive and replay
            // runs of one variant and seed are told apart in the progress lines.
            var before = await store.LoadSweepAsync(sweepId, cancellationToken).ConfigureAwait(false);
            var runLabels = ReportModelBuilder.Build(before, DateTimeOffset.UtcNow).Runs.ToDictionary(r => r.RunId, r => string.Create(inv, $"[{r.Group} seed {r.Seed}]"));
            var display = new ProgressDisplay(plan.Name, id => runLabels.GetValueOrDefault(id, ""));
            var host = WorkerHost.Build(
                o =>
                {
                    o.Database = database;
                    o.UntilEmpty = true;
                    o.SweepId = sweepId; // on a shared store, other people's sweeps are not this command's business
                    o.ThreadsPerRun = parse.GetValue(threads) is { } t ? Math.Max(1, t) : WorkerOptions.Auto;
                    o.Concurrency = runs;
                    o.AutoHint = (hint.Hidden, hint.Batch, plan.Points.Count);
                    o.OutageWaitSeconds = outageSeconds;
                },
                shutdownSeconds: 20,
                minimumLevel: display.IsInteractive ? LogLevel.Warning : LogLevel.Information,
                onProgress: display.Report,
                verbose: parse.GetValue(CliApp.Verbose),
                services: workerServices);
            // The worker logs its choice; the live display hides Information lines, so say it here instead.
            if (display.IsInteractive && host.Services.GetRequiredService<IOptions<WorkerOptions>>().Value.ConcurrencyChoice is { } choice)
            {
                Console.WriteLine(choice);
            }

            var outcome = host.Services.GetRequiredService<WorkerOutcome>(); // read after RunAsync, which disposes the host
            var work = display.RunAsync(() => host.RunAsync(cancellationToken), (runs, ct) => SnapshotAsync(store, sweepId, runs, ct));
            bool ended;
            try
            {
                ended = await EndsOrInterruptedAsync(work, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                host.Dispose();
                throw;
            }

            if (!ended)
            {
                // The worker is still checkpointing and releasing, most likely waiting for a store that does not answer
                // (locked, down). Waiting longer helps no one: the run's last recorded checkpoint is on disk, and once
                // its lease expires the next 'run' or 'worker' claims it and resumes from there. The host is not
                // disposed here: disposing would wait for the same store.
                throw new CliException(ExitCodes.Interrupted, string.Create(inv,
                    $"interrupted; the store did not confirm the release within {InterruptGrace.TotalSeconds:0.##} s, so a run may show 'running' until its lease expires; the same 'forgetgate run' then resumes it from its last checkpoint."));
            }

            string? gaveUp = outcome.GaveUp;
            host.Dispose();
            if (gaveUp is not null)
            {
                // An outage outlasted --outage-wait: the worker released its runs (no attempt spent) and stopped.
                throw new CliException(ExitCodes.Unavailable, gaveUp);
            }

            // Ctrl-C stopped the worker (its runs checkpointed and released): interrupted (130), not a failed sweep.
            cancellationToken.ThrowIfCancellationRequested();

            var data = await store.LoadSweepAsync(sweepId, cancellationToken).ConfigureAwait(false);
            PrintComparison(data);
            string folder = parse.GetValue(output) ?? SweepFolder(database, plan.Name);
            var written = ReportCommand.WriteReport(data, folder);
            Console.WriteLine($"report: {written}");
            int failed = data.Runs.Count(r => r.Status != RunStatus.Succeeded);
            if (failed > 0)
            {
                Console.Error.WriteLine(string.Create(inv, $"forgetgate run: {failed} run(s) did not succeed; see 'forgetgate status' and the report."));
                return ExitCodes.Failed;
            }

            return Environment.ExitCode;
        });
        return command;
    }

    /// <summary>
    /// How long <c>run</c> waits after Ctrl-C for its worker to checkpoint and release the running runs before it exits
    /// anyway (130): a release normally takes milliseconds, and a user who pressed Ctrl-C expects the prompt back now.
    /// </summary>
    internal static readonly TimeSpan InterruptGrace = TimeSpan.FromMilliseconds(300);

    /// <summary>True when <paramref name="work"/> ended (with its exceptions propagated); false when the token was cancelled and the work did not end within <see cref="InterruptGrace"/>.</summary>
    private static async Task<bool> EndsOrInterruptedAsync(Task work, CancellationToken cancellationToken)
    {
        var interrupted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (cancellationToken.Register(() => interrupted.TrySetResult()).ConfigureAwait(false))
        {
            if (await Task.WhenAny(work, interrupted.Task).ConfigureAwait(false) == work)
            {
                await work.ConfigureAwait(false);
                return true;
            }
        }

        if (await Task.WhenAny(work, Task.Delay(InterruptGrace, CancellationToken.None)).ConfigureAwait(false) == work)
        {
            await work.ConfigureAwait(false);
            return true;
        }

        return false;
    }

    /// <summary>The sweep's counts and the outcome of each of <paramref name="runs"/> that has ended, from the store.</summary>
    internal static async Task<SweepSnapshot> SnapshotAsync(IRunStore store, long sweepId, IReadOnlyCollection<long> runs, CancellationToken cancellationToken)
    {
        var sweep = (await store.GetStatusAsync(cancellationToken).ConfigureAwait(false)).FirstOrDefault(s => s.SweepId == sweepId)
            ?? new SweepStatus(sweepId, "", 0, 0, 0, 0, 0, 0);
        var finished = new Dictionary<long, FinishedRun>();
        foreach (long id in runs)
        {
            if (await store.GetRunAsync(id, cancellationToken).ConfigureAwait(false) is { Status: RunStatus.Succeeded or RunStatus.Failed or RunStatus.Cancelled } run)
            {
                finished[id] = new FinishedRun(run.Status, run.Error);
            }
        }

        return new SweepSnapshot(sweep.Queued, sweep.Running, sweep.Succeeded, sweep.Failed, sweep.Cancelled, sweep.MeanProgress, finished);
    }

    /// <summary>
    /// The default folder of a sweep's files, results/&lt;name&gt; beside the database. Names that could leave that
    /// folder or collide with it (<c>..</c>, blanks, separators; specs refuse them, older stores may hold them) are
    /// refused rather than rewritten, so two sweeps never share a folder by accident.
    /// </summary>
    internal static string SweepFolder(string database, string name) =>
        SpecNames.IsSafe(name)
            ? Path.Combine(RunStores.LocalDirectory(database), name)
            : throw new CliException(ExitCodes.BadInput, $"sweep name '{name}' is not a safe folder name ({SpecNames.Rule}); give the folder with --out.");

    /// <summary>The sweep's groups side by side, as the report's comparison table shows them (MSE for regression).</summary>
    internal static void PrintComparison(SweepData data)
    {
        Console.WriteLine();
        Console.Write(ComparisonText.Of(ReportModelBuilder.Build(data, DateTimeOffset.UtcNow)));
    }
}
