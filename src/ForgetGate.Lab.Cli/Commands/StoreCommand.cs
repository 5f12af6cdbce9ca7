using System.CommandLine;
using System.Globalization;
using ForgetGate.Lab.Cli.Errors;
using ForgetGate.Lab.Storage;

namespace ForgetGate.Lab.Cli.Commands;

/// <summary><c>forgetgate store copy|migrate</c>: move sweeps between stores; prepare a store's tables.</summary>
internal static class StoreCommand
{
    public static Command Create()
    {
        var command = new Command("store", "Manage stores: copy sweeps between a SQLite file and a PostgreSQL database, apply migrations.\nExample: forgetgate store copy --from results/forgetgate.db --to postgres://lab@db.lab:5432/forgetgate");
        command.Subcommands.Add(Copy());
        command.Subcommands.Add(Migrate());
        return command;
    }

    private static Command Copy()
    {
        var from = new Option<string?>("--from") { Description = "Source store: SQLite file or postgres:// URL (default: the --db rule: $FORGETGATE_DB, appsettings.json, results/forgetgate.db)." };
        var to = new Option<string>("--to") { Description = "Target store: SQLite file or postgres:// URL; its tables are created if missing.", Required = true };
        var sweep = new Option<string[]>("--sweep") { Description = "Sweep id or name to copy (repeatable); default: every sweep.", AllowMultipleArgumentsPerToken = true };
        var command = new Command("copy", """
            Copy sweeps with every row of their runs (metrics, curves, gate telemetry, checkpoints, attempts) to another store.
            Repeating a copy writes nothing twice: sweeps match by name and spec hash, runs by config hash; a run the target
            has unfinished is replaced when the source has it finished. Runs queued or running in the source arrive queued.
            Example: forgetgate store copy --from results/forgetgate.db --to postgres://lab@db.lab:5432/forgetgate --sweep quick
            """) { from, to, sweep };
        command.SetAction(async (parse, cancellationToken) =>
        {
            string source = CliDatabase.Resolve(parse.GetValue(from));
            string target = parse.GetValue(to)!;
            if (!RunStores.IsPostgres(source) && !File.Exists(source))
            {
                throw new CliException(ExitCodes.BadInput, $"--from '{source}' does not exist.");
            }

            // A store that is down or read-only is not bad input: it reaches the central handler (exit 3).
            try
            {
                var inv = CultureInfo.InvariantCulture;
                var results = await StoreCopier.CopyAsync(CliDatabase.Open(source), CliDatabase.Open(target), parse.GetValue(sweep) ?? [], r =>
                    Console.WriteLine(string.Create(inv,
                        $"sweep '{r.Sweep}' → {r.TargetSweepId}: {r.Copied} run(s) copied, {r.Updated} updated, {r.AlreadyThere} already there{(r.Unfinished > 0 ? $", {r.Unfinished} unfinished (arrive queued)" : "")}; {r.Rows} row(s) written")),
                    cancellationToken).ConfigureAwait(false);
                Console.WriteLine(string.Create(inv, $"copied {results.Count} sweep(s) from {RunStores.Describe(source)} to {RunStores.Describe(target)}"));
                return ExitCodes.Success;
            }
            catch (ArgumentException e)
            {
                throw new CliException(ExitCodes.BadInput, e.Message, e);
            }
        });
        return command;
    }

    private static Command Migrate()
    {
        var db = CliDatabase.CreateOption();
        var command = new Command("migrate", "Create or update the store's tables (workers also do this when they start).\nExample: forgetgate store migrate --db postgres://lab@db.lab:5432/forgetgate") { db };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var store = CliDatabase.Open(CliDatabase.Resolve(parse.GetValue(db)));
            int applied = await store.MigrateAsync(cancellationToken).ConfigureAwait(false);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{store.Location}: applied {applied} migration(s)"));
            return ExitCodes.Success;
        });
        return command;
    }
}
