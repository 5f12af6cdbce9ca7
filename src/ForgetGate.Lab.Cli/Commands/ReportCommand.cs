using System.CommandLine;
using ForgetGate.Lab.Cli.Errors;
using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Reporting;
using ForgetGate.Lab.Storage;

namespace ForgetGate.Lab.Cli.Commands;

/// <summary><c>forgetgate report SWEEP</c>: renders a sweep's stored results into results/&lt;sweep&gt;/.</summary>
internal static class ReportCommand
{
    public static Command Create()
    {
        var sweep = new Argument<string>("SWEEP") { Description = "Sweep id or name (the newest sweep of that name)." };
        var db = CliDatabase.CreateOption();
        var output = new Option<string?>("--out") { Description = "Report folder (default: results/<sweep name> beside the database)." };
        var command = new Command("report", "Write a sweep's report (HTML with SVG figures, Markdown, CSV).\nExample: forgetgate report quick --out /tmp/quick-report")
        {
            sweep, db, output,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            string database = CliDatabase.Resolve(parse.GetValue(db));
            var store = CliDatabase.OpenExisting(database);
            var info = await store.FindSweepAsync(parse.GetValue(sweep)!, cancellationToken).ConfigureAwait(false)
                ?? throw new CliException(ExitCodes.BadInput, $"no sweep '{parse.GetValue(sweep)}' in {store.Location}; 'forgetgate status' lists the sweeps.");

            var data = await store.LoadSweepAsync(info.Id, cancellationToken).ConfigureAwait(false);
            string folder = parse.GetValue(output) ?? RunCommand.SweepFolder(database, info.Name);
            Console.WriteLine($"report: {WriteReport(data, folder)}");
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>Builds the report model from the stored rows and writes it; returns the path of report.html.</summary>
    internal static string WriteReport(SweepData data, string folder) => ReportWriter.Write(ReportModelBuilder.Build(data, DateTimeOffset.UtcNow), folder);
}
