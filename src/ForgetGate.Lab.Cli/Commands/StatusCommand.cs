using System.CommandLine;
using System.Globalization;
using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Reporting;
using ForgetGate.Lab.Storage;

namespace ForgetGate.Lab.Cli.Commands;

/// <summary><c>forgetgate status [SWEEP]</c>: sweeps with run counts per status and mean progress, or one sweep's runs.</summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var db = CliDatabase.CreateOption();
        var sweep = new Argument<string?>("SWEEP") { Description = "A sweep id or name: list its runs (id, status, attempt, swept values, seed, error).", Arity = ArgumentArity.ZeroOrOne };
        // An optional argument would swallow a mistyped option ("status --bogus"): that stays a parse error.
        sweep.Validators.Add(result =>
        {
            if (result.Tokens.Count == 1 && result.Tokens[0].Value.StartsWith('-'))
            {
                result.AddError($"Unrecognized command or argument '{result.Tokens[0].Value}'.");
            }
        });
        var command = new Command("status", "Show the queue: runs per status and progress for each sweep, or every run of one sweep.\nExample: forgetgate status   |   forgetgate status quick") { sweep, db };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var store = CliDatabase.OpenExisting(CliDatabase.Resolve(parse.GetValue(db)));
            if (parse.GetValue(sweep) is { } name)
            {
                var info = await store.FindSweepAsync(name, cancellationToken).ConfigureAwait(false)
                    ?? throw new Errors.CliException(Errors.ExitCodes.BadInput, $"no sweep '{name}' in {store.Location}; 'forgetgate status' lists the sweeps.");
                PrintRuns(await store.LoadSweepAsync(info.Id, cancellationToken).ConfigureAwait(false));
                return Errors.ExitCodes.Success;
            }

            var sweeps = await store.GetStatusAsync(cancellationToken).ConfigureAwait(false);
            var inv = CultureInfo.InvariantCulture;
            Console.WriteLine(string.Create(inv, $"{"sweep",6} {"name",-24} {"queued",7} {"running",7} {"done",7} {"failed",7} {"cancel",7} {"progress",8}"));
            foreach (var s in sweeps)
            {
                Console.WriteLine(string.Create(inv, $"{s.SweepId,6} {s.Name,-24} {s.Queued,7} {s.Running,7} {s.Succeeded,7} {s.Failed,7} {s.Cancelled,7} {s.MeanProgress,8:P0}"));
            }

            return Errors.ExitCodes.Success;
        });
        return command;
    }

    /// <summary>One line per run: the ids 'reproduce', 'model', 'cancel' and 'retry' take, with what tells runs apart.</summary>
    private static void PrintRuns(SweepData data)
    {
        var inv = CultureInfo.InvariantCulture;
        var report = ReportModelBuilder.Build(data, DateTimeOffset.UtcNow);
        var stored = data.Runs.ToDictionary(r => r.Id);
        int width = Math.Max(report.GroupBy.Length, report.Runs.Select(r => r.Group.Length).DefaultIfEmpty(0).Max());
        Console.WriteLine(string.Create(inv, $"sweep {data.Sweep.Id} '{data.Sweep.Name}': {data.Runs.Count} run(s)"));
        Console.WriteLine(string.Create(inv, $"{"run",6} {"status",-10} {"attempt",7}  {report.GroupBy.PadRight(width)} {"seed",6}  error"));
        foreach (var run in report.Runs.OrderBy(r => r.RunId))
        {
            var s = stored[run.RunId];
            string error = s.Error is { Length: > 0 } e ? (e.Length > 100 ? e[..100] + "…" : e) : (s.ReusedFrom is long from ? string.Create(inv, $"(reused from run {from})") : "");
            Console.WriteLine(string.Create(inv, $"{run.RunId,6} {run.Status,-10} {s.Attempt,7}  {run.Group.PadRight(width)} {run.Seed,6}  {error}"));
        }
    }
}
