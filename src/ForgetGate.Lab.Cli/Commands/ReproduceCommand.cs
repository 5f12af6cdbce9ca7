using System.CommandLine;
using System.Globalization;
using ForgetGate.Lab.Cli.Errors;
using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Core.Training;
using ForgetGate.Lab.Numerics.Engines;
using ForgetGate.Lab.Numerics.Threading;
using ForgetGate.Lab.Storage;

namespace ForgetGate.Lab.Cli.Commands;

/// <summary><c>forgetgate reproduce RUN</c>: re-runs a stored run from its stored config and compares every evaluation row.</summary>
internal static class ReproduceCommand
{
    public static Command Create()
    {
        var run = new Argument<long>("RUN") { Description = "Run id (see 'forgetgate status' or runs.csv)." };
        var db = CliDatabase.CreateOption();
        var threads = new Option<int>("--threads") { Description = "Compute threads (results do not depend on it).", DefaultValueFactory = _ => Environment.ProcessorCount };
        var engine = new Option<string?>("--engine") { Description = "Re-run on this engine (managed or torch) instead of the stored config's, e.g. to cross-check one engine's run on the other; differences are then expected at float32 rounding level." };
        engine.AcceptOnlyFromAmong([.. ModelEngines.KnownNames]);
        var command = new Command("reproduce", "Re-run a stored run from its stored config and print, per metric, stored vs new and the largest difference.\nExample: forgetgate reproduce 7")
        {
            run, db, threads, engine,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var inv = CultureInfo.InvariantCulture;
            var store = CliDatabase.OpenExisting(CliDatabase.Resolve(parse.GetValue(db)));
            long id = parse.GetValue(run);
            var record = await store.GetRunAsync(id, cancellationToken).ConfigureAwait(false)
                ?? throw new CliException(ExitCodes.BadInput, string.Create(inv, $"no run {id} in {store.Location}; 'forgetgate status' and runs.csv list them."));

            var data = await store.LoadSweepAsync(record.SweepId, cancellationToken).ConfigureAwait(false);
            var stored = data.Evaluations.Where(e => e.RunId == id).ToDictionary(e => (e.AfterTask, e.Epoch, e.EvalTask, e.Metric), e => e.Value);
            RunPlan plan;
            try
            {
                plan = new SpecRunPlanFactory().Create(record.ConfigJson);
            }
            catch (NonRetryableRunException e)
            {
                // The stored config no longer plans (a dataset is missing or changed): nothing to reproduce with.
                throw new CliException(ExitCodes.BadInput, e.Message, e);
            }

            if (parse.GetValue(engine) is { } chosen && chosen != plan.Options.Engine)
            {
                Console.WriteLine($"engine: {chosen} (the stored run used {plan.Options.Engine}).");
                plan = plan with { Options = plan.Options with { Engine = chosen } };
            }

            string storedFingerprint = data.Runs.First(r => r.Id == id).DatasetFingerprint ?? "";
            if (storedFingerprint.Length > 0 && storedFingerprint != plan.DatasetFingerprint)
            {
                Console.WriteLine($"warning: dataset fingerprint differs (stored {storedFingerprint}, now {plan.DatasetFingerprint}); results may differ.");
            }

            Console.WriteLine(string.Create(inv, $"reproducing run {id} (config {record.ConfigHash[..12]}, seed {record.Seed}) with {parse.GetValue(threads)} thread(s)…"));
            var sink = new CollectingSink();
            using (var pool = new ComputePool(Math.Max(1, parse.GetValue(threads))))
            using (var runner = new ContinualRunner(plan.Options, plan.Tasks, sink, pool))
            {
                await runner.RunAsync(null, null, cancellationToken).ConfigureAwait(false);
            }

            Console.WriteLine($"{"metric",-10} {"rows",6} {"stored (final ACC-like mean)",30} {"new",14} {"max |diff|",12}");
            bool identical = true;
            foreach (var metric in sink.Rows.Keys.Select(k => k.Metric).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                var keys = sink.Rows.Keys.Where(k => k.Metric == metric).ToList();
                double maxDiff = 0;
                int missing = 0;
                foreach (var k in keys)
                {
                    if (stored.TryGetValue(k, out double s))
                    {
                        maxDiff = Math.Max(maxDiff, Math.Abs(s - sink.Rows[k]));
                    }
                    else
                    {
                        missing++;
                    }
                }

                int last = keys.Max(k => k.AfterTask);
                double meanStored = keys.Where(k => k.AfterTask == last && stored.ContainsKey(k)).Select(k => stored[k]).DefaultIfEmpty(double.NaN).Average();
                double meanNew = keys.Where(k => k.AfterTask == last).Select(k => sink.Rows[k]).Average();
                identical &= maxDiff == 0 && missing == 0;
                Console.WriteLine(string.Create(inv, $"{metric,-10} {keys.Count,6} {meanStored,30:R} {meanNew,14:F6} {maxDiff,12:G4}{(missing > 0 ? $"  ({missing} not stored)" : "")}"));
            }

            Console.WriteLine(identical ? "bit-identical to the stored run." : "differences found (see above).");
            return identical ? ExitCodes.Success : ExitCodes.Failed;
        });
        return command;
    }

    /// <summary>Keeps the evaluation rows of the re-run in memory.</summary>
    private sealed class CollectingSink : IRunSink
    {
        public Dictionary<(int AfterTask, int Epoch, int EvalTask, string Metric), double> Rows { get; } = [];

        public Task WriteEvaluationsAsync(IReadOnlyList<EvaluationRow> rows, CancellationToken cancellationToken)
        {
            foreach (var r in rows)
            {
                Rows[(r.AfterTask, r.Epoch, r.EvalTask, r.Metric)] = r.Value;
            }

            return Task.CompletedTask;
        }

        public Task WriteTrainingCurveAsync(IReadOnlyList<TrainingCurveRow> rows, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task WriteGateTelemetryAsync(IReadOnlyList<GateTelemetryRow> rows, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task WriteGateStepsAsync(IReadOnlyList<GateStepRow> rows, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task RecordCheckpointAsync(CheckpointRecord checkpoint, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task RecordDatasetFingerprintAsync(string fingerprint, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task ReportProgressAsync(double progress, string? note, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task CompleteAsync(IReadOnlyList<RunSummaryRow> summary, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
