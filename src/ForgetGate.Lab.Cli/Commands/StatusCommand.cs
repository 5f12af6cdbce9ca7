using System.CommandLine;
using System.Globalization;
using ForgetGate.Lab.Storage;

namespace ForgetGate.Lab.Cli.Commands;

/// <summary><c>forgetgate status</c>: sweeps with run counts per status and mean progress.</summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var db = CliDatabase.CreateOption();
        var command = new Command("status", "Show the queue: runs per status and progress for each sweep.\nExample: forgetgate status --db results/forgetgate.db") { db };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var store = CliDatabase.OpenExisting(CliDatabase.Resolve(parse.GetValue(db)));
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
}
