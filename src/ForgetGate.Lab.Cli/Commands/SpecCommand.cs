using System.CommandLine;
using System.Globalization;
using System.Text;
using ForgetGate.Lab.Core.Specs;

namespace ForgetGate.Lab.Cli.Commands;

/// <summary><c>forgetgate spec fields | check SPEC</c>: the spec reference (from the schema itself) and validation without queueing.</summary>
internal static class SpecCommand
{
    // Sweeps up to this size are listed point by point; larger ones show their first points and the count.
    private const int ListedPoints = 1000;
    private const int ShownOfLargeSweep = 20;

    public static Command Create()
    {
        var spec = new Command("spec", "Experiment spec reference and validation.\nExample: forgetgate spec check experiments/quick.yaml");
        var fields = new Command("fields", "Print every spec field with its type, default and allowed values (Markdown).\nExample: forgetgate spec fields");
        fields.SetAction(_ =>
        {
            Console.Write(FieldTable());
            return 0;
        });
        var file = new Argument<FileInfo>("SPEC") { Description = "Experiment spec (.yaml)." };
        var set = new Option<string[]>("--set") { Description = "Override a field, e.g. --set model.hidden=64." };
        var maxRuns = SweepQueuer.CreateMaxRunsOption();
        var check = new Command("check", "Validate a spec and list its sweep points without touching the queue.\nExample: forgetgate spec check experiments/strategies.yaml") { file, set, maxRuns };
        check.SetAction(parse =>
        {
            // A SpecValidationException (every problem, with file, line and field) ends the command with exit 2;
            // a sweep over --max-runs is one of them, found from the list sizes before anything is expanded.
            var inv = CultureInfo.InvariantCulture;
            var s = SpecReader.ReadFile(parse.GetValue(file)!.FullName, parse.GetValue(set) ?? [], parse.GetValue(maxRuns));
            Console.WriteLine(string.Create(inv, $"{s.Name}: valid, {s.PointCount} run(s)"));
            if (s.PointCount > ListedPoints)
            {
                // Listing a million lines helps nobody and takes longer than the check: show the first few.
                foreach (var p in s.EnumeratePoints().Take(ShownOfLargeSweep))
                {
                    Console.WriteLine($"  {p.ConfigHash[..12]}  {string.Join("  ", p.Factors.Select(f => $"{f.Key}={f.Value}"))}");
                }

                Console.WriteLine(string.Create(inv, $"  … and {s.PointCount - ShownOfLargeSweep:N0} more ('forgetgate queue SPEC --dry-run --max-runs {s.PointCount}' lists them all)"));
                return 0;
            }

            foreach (var p in s.Points)
            {
                Console.WriteLine($"  {p.ConfigHash[..12]}  {string.Join("  ", p.Factors.Select(f => $"{f.Key}={f.Value}"))}");
            }

            foreach (var note in s.Points.SelectMany(p => StrategyNotes.For(p.Config)).Distinct(StringComparer.Ordinal))
            {
                Console.WriteLine("note: " + note);
            }

            return 0;
        });
        spec.Subcommands.Add(fields);
        spec.Subcommands.Add(check);
        return spec;
    }

    /// <summary>The spec reference as a Markdown table, generated from <see cref="SpecSchema"/>.</summary>
    internal static string FieldTable()
    {
        var sb = new StringBuilder("| field | type | default | allowed | applies to | meaning |\n|---|---|---|---|---|---|\n");
        foreach (var f in SpecSchema.Fields)
        {
            string type = f.Type switch { SpecFieldType.Whole => "integer", SpecFieldType.Real => "number", SpecFieldType.Boolean => "boolean", SpecFieldType.Choice => "name", _ => "text" };
            string def = f.Required ? "*(required)*" : f.Default switch { null => "", double d => d.ToString("R", CultureInfo.InvariantCulture), bool b => b ? "true" : "false", var o => Convert.ToString(o, CultureInfo.InvariantCulture) ?? "" };
            string applies = f.WhenPath is null ? "all" : $"{f.WhenPath} = {string.Join(" / ", f.WhenValues)}";
            string allowed = f.Type == SpecFieldType.Choice ? string.Join(", ", f.Choices) : f.Type is SpecFieldType.Whole or SpecFieldType.Real ? f.Allowed() : "";
            sb.Append(CultureInfo.InvariantCulture, $"| `{f.Path}` | {type}{(f.Sweepable ? "" : " (not sweepable)")} | {def} | {allowed} | {applies} | {f.Description} |\n");
        }

        return sb.ToString();
    }
}
