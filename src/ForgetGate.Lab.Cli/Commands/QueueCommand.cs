using System.CommandLine;
using System.Globalization;
using ForgetGate.Lab.Cli.Errors;
using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Core.Specs;
using ForgetGate.Lab.Storage;

namespace ForgetGate.Lab.Cli.Commands;

/// <summary>
/// <c>forgetgate queue SPEC</c>: expands a spec and queues one run per point (a point already queued in the sweep is
/// skipped; a point finished in an earlier sweep is reused unless <c>--no-reuse</c>).
/// </summary>
internal static class QueueCommand
{
    public static Command Create()
    {
        var spec = new Argument<FileInfo>("SPEC") { Description = "Experiment spec (.yaml), or a .json run list." };
        var set = new Option<string[]>("--set") { Description = "Override a spec field: --set training.optimizer.lr=3e-4 (repeatable; [a,b] sweeps).", AllowMultipleArgumentsPerToken = false };
        var db = CliDatabase.CreateOption();
        var dryRun = new Option<bool>("--dry-run") { Description = "List the points without queueing them." };
        var priority = new Option<int?>("--priority") { Description = "Priority of the queued runs (higher first); default: the spec's." };
        var maxAttempts = new Option<int?>("--max-attempts") { Description = "Attempts before a run is failed; default: the spec's (3)." };
        var noReuse = SweepQueuer.CreateNoReuseOption();
        var maxRuns = SweepQueuer.CreateMaxRunsOption();
        var command = new Command("queue", "Validate a spec, expand its sweep and queue one run per point.\nExample: forgetgate queue experiments/quick.yaml --dry-run --set seed=[1,2]")
        {
            spec, db, dryRun, priority, maxAttempts, set, noReuse, maxRuns,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var plan = SweepQueuer.LoadPlan(parse.GetValue(spec)!, parse.GetValue(set) ?? [], parse.GetValue(maxRuns));
            var inv = CultureInfo.InvariantCulture;
            if (parse.GetValue(dryRun))
            {
                Console.WriteLine(string.Create(inv, $"sweep {plan.Name}: {plan.Points.Count} point(s), spec sha256 {plan.SpecHash}"));
                foreach (var point in plan.Points)
                {
                    Console.WriteLine(string.Create(inv, $"{point.ConfigHash[..12]}  seed {point.Seed}  {point.ConfigJson}"));
                }

                return ExitCodes.Success;
            }

            var store = CliDatabase.Open(CliDatabase.Resolve(parse.GetValue(db)));
            var queued = await SweepQueuer.QueueAsync(
                store, plan, parse.GetValue(priority) ?? plan.Priority ?? 0, parse.GetValue(maxAttempts) ?? plan.MaxAttempts ?? 3, reuse: !parse.GetValue(noReuse), cancellationToken)
                .ConfigureAwait(false);
            Console.WriteLine(string.Create(inv, $"sweep {queued.SweepId} '{plan.Name}': queued {queued.Queued} run(s), {queued.AlreadyInSweep} already queued"));
            if (queued.ReuseLine is { } reuseLine)
            {
                Console.WriteLine(reuseLine);
            }

            return ExitCodes.Success;
        });
        return command;
    }
}
