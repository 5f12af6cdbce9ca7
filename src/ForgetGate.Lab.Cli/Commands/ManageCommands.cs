using System.CommandLine;
using System.Globalization;
using ForgetGate.Lab.Cli.Errors;
using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Reporting;
using ForgetGate.Lab.Reporting.TensorBoard;
using ForgetGate.Lab.Storage;

namespace ForgetGate.Lab.Cli.Commands;

/// <summary><c>cancel</c>, <c>retry</c>, <c>export</c> and <c>compare</c>: managing and reading sweeps already in the store.</summary>
internal static class ManageCommands
{
    private static readonly string[] s_exported = ["runs.csv", "evaluations.csv"];

    public static Command Cancel() => PerRun(
        "cancel",
        "Cancel a run (queued: at once; running: at its next heartbeat, after a checkpoint) or a whole sweep.\nExample: forgetgate cancel 12   |   forgetgate cancel sweep:quick",
        "A run id, or 'sweep:<id or name>' for every unfinished run of a sweep.",
        (store, id, ct) => store.RequestCancelAsync(id, ct),
        (changed, total) => string.Create(CultureInfo.InvariantCulture, $"cancel requested for {changed} of {total} run(s) (finished runs are left as they are)."),
        (_, _) => ExitCodes.Success);

    public static Command Retry() => PerRun(
        "retry",
        "Queue failed or cancelled runs again (they resume from their last checkpoint).\nExample: forgetgate retry 12   |   forgetgate retry sweep:quick",
        "A run id, or 'sweep:<id or name>' for every failed or cancelled run of a sweep.",
        (store, id, ct) => store.RetryAsync(id, ct),
        (changed, total) => string.Create(CultureInfo.InvariantCulture, $"queued again: {changed} of {total} run(s) (only failed or cancelled runs are retried)."),
        (changed, total) => changed > 0 || total == 0 ? ExitCodes.Success : ExitCodes.Failed);

    /// <summary>
    /// A command that applies one store operation to a run or to every run of a sweep (<c>cancel</c>, <c>retry</c>):
    /// the operation says per run whether it changed anything; the summary and exit code follow from the counts.
    /// </summary>
    private static Command PerRun(
        string name, string description, string targetDescription, Func<IRunStore, long, CancellationToken, Task<bool>> apply,
        Func<int, int, string> summary, Func<int, int, int> exitCode)
    {
        var target = new Argument<string>("RUN|SWEEP") { Description = targetDescription };
        var db = CliDatabase.CreateOption();
        var command = new Command(name, description) { target, db };
        command.SetAction(async (parse, ct) =>
        {
            var store = CliDatabase.OpenExisting(CliDatabase.Resolve(parse.GetValue(db)));
            var ids = await ResolveRunsAsync(store, parse.GetValue(target)!, ct).ConfigureAwait(false);
            int changed = 0;
            foreach (long id in ids)
            {
                changed += await apply(store, id, ct).ConfigureAwait(false) ? 1 : 0;
            }

            Console.WriteLine(summary(changed, ids.Count));
            return exitCode(changed, ids.Count);
        });
        return command;
    }

    public static Command Export()
    {
        var sweep = new Argument<string>("SWEEP") { Description = "Sweep id or name." };
        var format = new Option<string>("--format") { Description = "Output format: csv, or tensorboard (one folder of event files per run).", DefaultValueFactory = _ => "csv" };
        var output = new Option<string?>("--out") { Description = "Folder for runs.csv and evaluations.csv, or the TensorBoard log folder (default: results/<sweep> beside the database, or results/<sweep>/tensorboard)." };
        var db = CliDatabase.CreateOption();
        var command = new Command("export", "Write a sweep's runs and every evaluation row (long format) as CSV, or every run as TensorBoard event files.\nExample: forgetgate export quick --format csv --out /tmp/quick   |   forgetgate export quick --format tensorboard --out runs/quick && tensorboard --logdir runs/quick") { sweep, format, output, db };
        command.SetAction(async (parse, ct) =>
        {
            string kind = parse.GetValue(format)!.ToLowerInvariant();
            if (kind is not ("csv" or "tensorboard"))
            {
                throw new CliException(ExitCodes.BadInput, $"--format '{parse.GetValue(format)}' is not supported; expected csv or tensorboard.");
            }

            var data = await LoadAsync(parse.GetValue(db), parse.GetValue(sweep)!, ct).ConfigureAwait(false);

            // Beside the sweep's report, like every other file of the sweep (not wherever the shell happens to be).
            string folder = parse.GetValue(output) ?? RunCommand.SweepFolder(CliDatabase.Resolve(parse.GetValue(db)), data.Sweep.Name);
            if (parse.GetValue(output) is null && kind == "tensorboard")
            {
                folder = Path.Combine(folder, "tensorboard");
            }

            Directory.CreateDirectory(folder);
            if (kind == "tensorboard")
            {
                var runs = TensorBoardExport.Write(ReportModelBuilder.Build(data, DateTimeOffset.UtcNow), folder);
                foreach (string run in runs)
                {
                    Console.WriteLine(run);
                }

                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{runs.Count} run folder(s); view them with: tensorboard --logdir {folder}"));
                return ExitCodes.Success;
            }

            var files = ReportWriter.Render(ReportModelBuilder.Build(data, DateTimeOffset.UtcNow));
            foreach (var name in s_exported)
            {
                await File.WriteAllTextAsync(Path.Combine(folder, name), files[name], ct).ConfigureAwait(false);
                Console.WriteLine(Path.Combine(folder, name));
            }

            return ExitCodes.Success;
        });
        return command;
    }

    public static Command Compare()
    {
        var a = new Argument<string>("SWEEP_A") { Description = "First sweep id or name." };
        var b = new Argument<string>("SWEEP_B") { Description = "Second sweep id or name (omit to compare the groups of SWEEP_A only)." };
        b.Arity = ArgumentArity.ZeroOrOne;
        var db = CliDatabase.CreateOption();
        var command = new Command("compare", "Compare ACC, BWT, FWT, forgetting and learning accuracy (mean ± 95% CI over seeds; in MSE, lower is better, for regression sweeps) between two sweeps group by group, or the groups of one sweep.\nExample: forgetgate compare quick quick-bigger") { a, b, db };
        command.SetAction(async (parse, ct) =>
        {
            var left = await LoadAsync(parse.GetValue(db), parse.GetValue(a)!, ct).ConfigureAwait(false);
            if (parse.GetValue(b) is not { } second)
            {
                RunCommand.PrintComparison(left); // the groups (variants, strategies) of one sweep side by side
                return ExitCodes.Success;
            }

            var right = await LoadAsync(parse.GetValue(db), second, ct).ConfigureAwait(false);
            try
            {
                Console.Write(ComparisonText.Of(ReportModelBuilder.Build(left, DateTimeOffset.UtcNow), ReportModelBuilder.Build(right, DateTimeOffset.UtcNow)));
            }
            catch (ArgumentException e)
            {
                throw new CliException(ExitCodes.BadInput, e.Message, e);
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static async Task<SweepData> LoadAsync(string? db, string sweep, CancellationToken ct)
    {
        var store = CliDatabase.OpenExisting(CliDatabase.Resolve(db));
        var info = await store.FindSweepAsync(sweep, ct).ConfigureAwait(false)
            ?? throw new CliException(ExitCodes.BadInput, $"no sweep '{sweep}' in {store.Location}; 'forgetgate status' lists the sweeps.");
        return await store.LoadSweepAsync(info.Id, ct).ConfigureAwait(false);
    }

    private static async Task<IReadOnlyList<long>> ResolveRunsAsync(IRunStore store, string target, CancellationToken ct)
    {
        if (long.TryParse(target, NumberStyles.None, CultureInfo.InvariantCulture, out long id))
        {
            return await store.GetRunAsync(id, ct).ConfigureAwait(false) is null
                ? throw new CliException(ExitCodes.BadInput, string.Create(CultureInfo.InvariantCulture, $"no run {id} in {store.Location}; 'forgetgate status' and runs.csv list them."))
                : [id];
        }

        if (target.StartsWith("sweep:", StringComparison.Ordinal))
        {
            string name = target["sweep:".Length..];
            var info = (name.Length == 0 ? null : await store.FindSweepAsync(name, ct).ConfigureAwait(false))
                ?? throw new CliException(ExitCodes.BadInput, $"no sweep '{name}' in {store.Location}; 'forgetgate status' lists the sweeps.");
            return [.. (await store.LoadSweepAsync(info.Id, ct).ConfigureAwait(false)).Runs.Select(r => r.Id)];
        }

        throw new CliException(ExitCodes.BadInput, $"'{target}' is neither a run id nor 'sweep:<id or name>'.");
    }
}
