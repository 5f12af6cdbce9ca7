using System.CommandLine;
using System.Globalization;
using ForgetGate.Lab.Core.Metrics;
using ForgetGate.Lab.Reporting;
using ForgetGate.Lab.Storage;

namespace ForgetGate.Lab.Cli.Commands;

/// <summary><c>cancel</c>, <c>retry</c>, <c>export</c> and <c>compare</c>: managing and reading sweeps already in the store.</summary>
internal static class ManageCommands
{
    private static readonly string[] s_exported = ["runs.csv", "evaluations.csv"];

    private static Option<string?> DbOption() => CliDatabase.CreateOption();

    public static Command Cancel()
    {
        var target = new Argument<string>("RUN|SWEEP") { Description = "A run id, or 'sweep:<id or name>' for every unfinished run of a sweep." };
        var db = DbOption();
        var command = new Command("cancel", "Cancel a run (queued: at once; running: at its next heartbeat, after a checkpoint) or a whole sweep.\nExample: forgetgate cancel 12   |   forgetgate cancel sweep:quick") { target, db };
        command.SetAction(async (parse, ct) =>
        {
            var store = RunStores.Open(CliDatabase.Resolve(parse.GetValue(db)));
            var ids = await ResolveRunsAsync(store, parse.GetValue(target)!, ct).ConfigureAwait(false);
            if (ids is null)
            {
                return 2;
            }

            int changed = 0;
            foreach (long id in ids)
            {
                changed += await store.RequestCancelAsync(id, ct).ConfigureAwait(false) ? 1 : 0;
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cancel requested for {changed} of {ids.Count} run(s) (finished runs are left as they are)."));
            return 0;
        });
        return command;
    }

    public static Command Retry()
    {
        var target = new Argument<string>("RUN|SWEEP") { Description = "A run id, or 'sweep:<id or name>' for every failed or cancelled run of a sweep." };
        var db = DbOption();
        var command = new Command("retry", "Queue failed or cancelled runs again (they resume from their last checkpoint).\nExample: forgetgate retry 12") { target, db };
        command.SetAction(async (parse, ct) =>
        {
            var store = RunStores.Open(CliDatabase.Resolve(parse.GetValue(db)));
            var ids = await ResolveRunsAsync(store, parse.GetValue(target)!, ct).ConfigureAwait(false);
            if (ids is null)
            {
                return 2;
            }

            int changed = 0;
            foreach (long id in ids)
            {
                changed += await store.RetryAsync(id, ct).ConfigureAwait(false) ? 1 : 0;
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"queued again: {changed} of {ids.Count} run(s) (only failed or cancelled runs are retried)."));
            return changed > 0 || ids.Count == 0 ? 0 : 1;
        });
        return command;
    }

    public static Command Export()
    {
        var sweep = new Argument<string>("SWEEP") { Description = "Sweep id or name." };
        var format = new Option<string>("--format") { Description = "Output format (csv).", DefaultValueFactory = _ => "csv" };
        var output = new Option<string?>("--out") { Description = "Folder for runs.csv and evaluations.csv (default: the current folder)." };
        var db = DbOption();
        var command = new Command("export", "Write a sweep's runs and every evaluation row (long format) as CSV.\nExample: forgetgate export quick --format csv --out /tmp/quick") { sweep, format, output, db };
        command.SetAction(async (parse, ct) =>
        {
            if (!string.Equals(parse.GetValue(format), "csv", StringComparison.OrdinalIgnoreCase))
            {
                Console.Error.WriteLine($"forgetgate export: --format '{parse.GetValue(format)}' is not supported; expected csv.");
                return 2;
            }

            var data = await LoadAsync(parse.GetValue(db), parse.GetValue(sweep)!, ct).ConfigureAwait(false);
            if (data is null)
            {
                return 2;
            }

            string folder = parse.GetValue(output) ?? Directory.GetCurrentDirectory();
            Directory.CreateDirectory(folder);
            var files = ReportWriter.Render(ReportCommand.ToModel(data, DateTimeOffset.UtcNow));
            foreach (var name in s_exported)
            {
                await File.WriteAllTextAsync(Path.Combine(folder, name), files[name], ct).ConfigureAwait(false);
                Console.WriteLine(Path.Combine(folder, name));
            }

            return 0;
        });
        return command;
    }

    public static Command Compare()
    {
        var a = new Argument<string>("SWEEP_A") { Description = "First sweep id or name." };
        var b = new Argument<string>("SWEEP_B") { Description = "Second sweep id or name (omit to compare the groups of SWEEP_A only)." };
        b.Arity = ArgumentArity.ZeroOrOne;
        var db = DbOption();
        var command = new Command("compare", "Compare ACC, BWT, FWT, forgetting and learning accuracy (mean ± 95% CI over seeds) between two sweeps, group by group.\nExample: forgetgate compare quick quick-bigger") { a, b, db };
        command.SetAction(async (parse, ct) =>
        {
            var left = await LoadAsync(parse.GetValue(db), parse.GetValue(a)!, ct).ConfigureAwait(false);
            if (left is not null && parse.GetValue(b) is null)
            {
                RunCommand.PrintComparison(left); // the groups (variants, strategies) of one sweep side by side
                return 0;
            }

            var right = await LoadAsync(parse.GetValue(db), parse.GetValue(b)!, ct).ConfigureAwait(false);
            if (left is null || right is null)
            {
                return 2;
            }

            var inv = CultureInfo.InvariantCulture;
            var l = ReportCommand.ToModel(left, DateTimeOffset.UtcNow);
            var r = ReportCommand.ToModel(right, DateTimeOffset.UtcNow);
            string[] metrics = ["acc", "bwt", "fwt", "forgetting", "learning_accuracy"];
            Console.WriteLine($"{"group",-22} {"metric",-18} {l.SweepName,-22} {r.SweepName,-22} difference (B − A)");
            foreach (var group in l.Runs.Select(x => x.Group).Union(r.Runs.Select(x => x.Group)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                foreach (var m in metrics)
                {
                    var ca = Interval(l, group, m);
                    var cb = Interval(r, group, m);
                    Console.WriteLine(string.Create(inv, $"{group,-22} {m,-18} {Format(ca),-22} {Format(cb),-22} {cb.Mean - ca.Mean,9:F4}"));
                }
            }

            Console.WriteLine("(mean ± 95% CI over seeds, Student's t; forgetting: Chaudhry et al. 2018; BWT divides by T−1)");
            return 0;
        });
        return command;

        static MeanInterval Interval(SweepReport report, string group, string metric) =>
            MeanInterval.Of(report.Runs.Where(x => x.Group == group && x.Status == "succeeded").Select(x => x.Summary.FirstOrDefault(s => s.Name == metric)?.Value ?? double.NaN));

        static string Format(MeanInterval ci) => ci.Count == 0 ? "—"
            : double.IsFinite(ci.HalfWidth) ? string.Create(CultureInfo.InvariantCulture, $"{ci.Mean:F4} ± {ci.HalfWidth:F4}") : string.Create(CultureInfo.InvariantCulture, $"{ci.Mean:F4} (n=1)");
    }

    private static async Task<SweepData?> LoadAsync(string? db, string sweep, CancellationToken ct)
    {
        string database = CliDatabase.Resolve(db);
        var store = RunStores.Open(database);
        var info = await store.FindSweepAsync(sweep, ct).ConfigureAwait(false);
        if (info is null)
        {
            Console.Error.WriteLine($"no sweep '{sweep}' in {RunStores.Describe(database)}; 'forgetgate status' lists the sweeps.");
            return null;
        }

        return await store.LoadSweepAsync(info.Id, ct).ConfigureAwait(false);
    }

    private static async Task<IReadOnlyList<long>?> ResolveRunsAsync(IRunStore store, string target, CancellationToken ct)
    {
        if (long.TryParse(target, NumberStyles.None, CultureInfo.InvariantCulture, out long id))
        {
            if (await store.GetRunAsync(id, ct).ConfigureAwait(false) is null)
            {
                Console.Error.WriteLine($"no run {id} in {store.Location}.");
                return null;
            }

            return [id];
        }

        if (target.StartsWith("sweep:", StringComparison.Ordinal))
        {
            var info = await store.FindSweepAsync(target["sweep:".Length..], ct).ConfigureAwait(false);
            if (info is null)
            {
                Console.Error.WriteLine($"no sweep '{target["sweep:".Length..]}' in {store.Location}.");
                return null;
            }

            return [.. (await store.LoadSweepAsync(info.Id, ct).ConfigureAwait(false)).Runs.Select(r => r.Id)];
        }

        Console.Error.WriteLine($"'{target}' is neither a run id nor 'sweep:<id or name>'.");
        return null;
    }
}
