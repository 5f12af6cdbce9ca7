using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using ForgetGate.Lab.Cli.Errors;
using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Core.Training;
using ForgetGate.Lab.Numerics.Engines;
using ForgetGate.Lab.Numerics.Serialization;
using ForgetGate.Lab.Numerics.Threading;
using ForgetGate.Lab.Storage;

namespace ForgetGate.Lab.Cli.Commands;

/// <summary>
/// <c>forgetgate reproduce RUN|CHECKPOINT</c>: re-runs a stored run from its stored config and compares every evaluation
/// row. Given one of the run's checkpoint files instead of its id, it re-runs only up to that checkpoint's position and
/// checks that the re-run writes the same file, byte for byte (model, optimizer and strategy state, scores), and the same
/// rows up to there: "this file is what that config and seed give", without training the rest of the run.
/// </summary>
internal static partial class ReproduceCommand
{
    public static Command Create()
    {
        var run = new Argument<string>("RUN") { Description = "Run id (see 'forgetgate status SWEEP' or runs.csv), or one of its checkpoint files (results/checkpoints/run-NNNNNN/tTTT-eEEE-bBBBBB.safetensors)." };
        var db = CliDatabase.CreateOption();
        var threads = new Option<int>("--threads") { Description = "Compute threads (results do not depend on it).", DefaultValueFactory = _ => Environment.ProcessorCount };
        var engine = new Option<string?>("--engine") { Description = "Re-run on this engine (managed or torch) instead of the stored config's, e.g. to cross-check one engine's run on the other; differences are then expected at float32 rounding level." };
        engine.AcceptOnlyFromAmong([.. ModelEngines.KnownNames]);
        var command = new Command(
            "reproduce",
            "Re-run a stored run from its stored config and print, per metric, stored vs new and the largest difference.\n" +
            "Given a run checkpoint file, re-run up to that checkpoint and compare the file byte for byte and the rows up to there.\n" +
            "Examples: forgetgate reproduce 7\n          forgetgate reproduce results/checkpoints/run-000007/t002-e000-b00000.safetensors")
        {
            run, db, threads, engine,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var inv = CultureInfo.InvariantCulture;
            string target = parse.GetValue(run)!;
            bool isId = long.TryParse(target, NumberStyles.None, inv, out long id);
            if (!isId && !File.Exists(target))
            {
                throw new CliException(ExitCodes.BadInput, $"'{target}' is neither a run id nor an existing run checkpoint file ({Path.GetFullPath(target)} does not exist).");
            }

            var store = CliDatabase.OpenExisting(CliDatabase.Resolve(parse.GetValue(db)));
            TargetCheckpoint? checkpoint = null;
            if (!isId)
            {
                checkpoint = await FindCheckpointAsync(store, target, cancellationToken).ConfigureAwait(false);
                id = checkpoint.RunId;
            }

            var record = await store.GetRunAsync(id, cancellationToken).ConfigureAwait(false)
                ?? throw new CliException(ExitCodes.BadInput, string.Create(inv, $"no run {id} in {store.Location}; 'forgetgate status SWEEP' and runs.csv list them."));

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

            string upTo = checkpoint is null ? "" : $" up to its checkpoint {Path.GetFileName(checkpoint.Path)} ({Describe(checkpoint.Position)})";
            Console.WriteLine(string.Create(inv, $"reproducing run {id}{upTo} (config {record.ConfigHash[..12]}, seed {record.Seed}, {plan.Options.VariantName}) with {parse.GetValue(threads)} thread(s)…"));
            var sink = new CollectingSink(checkpoint?.Position);
            string? scratch = checkpoint is null ? null : Directory.CreateTempSubdirectory("forgetgate-reproduce-").FullName;
            try
            {
                using (var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                using (var pool = new ComputePool(Math.Max(1, parse.GetValue(threads))))
                using (var runner = new ContinualRunner(plan.Options, plan.Tasks, sink, pool))
                {
                    sink.Reached = stop.Cancel;
                    try
                    {
                        await runner.RunAsync(scratch, null, stop.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (sink.Checkpoint is not null && !cancellationToken.IsCancellationRequested)
                    {
                        // Stopped on purpose once the re-run wrote the checkpoint of the target position.
                    }
                }

                bool identical = CompareRows(sink, stored, checkpoint is not null);
                if (checkpoint is not null)
                {
                    identical &= CompareCheckpoint(checkpoint, sink.Checkpoint);
                }

                Console.WriteLine(identical ? (checkpoint is null ? "bit-identical to the stored run." : "bit-identical to the stored run up to that checkpoint.") : "differences found (see above).");
                return identical ? ExitCodes.Success : ExitCodes.Failed;
            }
            finally
            {
                if (scratch is not null)
                {
                    Directory.Delete(scratch, recursive: true);
                }
            }
        });
        return command;
    }

    /// <summary>Prints stored vs new per metric over the rows the re-run wrote; true when every one is stored and equal.</summary>
    private static bool CompareRows(CollectingSink sink, Dictionary<(int AfterTask, int Epoch, int EvalTask, string Metric), double> stored, bool partial)
    {
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine($"{"metric",-10} {"rows",6} {(partial ? "stored (last task's mean)" : "stored (final ACC-like mean)"),30} {"new",14} {"max |diff|",12}");
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

        return identical;
    }

    /// <summary>The re-run's checkpoint at the target position against the given file: bytes first, then per tensor where they differ.</summary>
    private static bool CompareCheckpoint(TargetCheckpoint target, CheckpointRecord? rerun)
    {
        var inv = CultureInfo.InvariantCulture;
        if (rerun is null)
        {
            Console.WriteLine($"checkpoint: the re-run never reached {Describe(target.Position)} (the run has fewer tasks, epochs or batches than the file says).");
            return false;
        }

        if (rerun.Sha256 == target.Sha256)
        {
            Console.WriteLine($"checkpoint: the re-run's {Path.GetFileName(rerun.Path)} is byte-identical to {target.Path} (SHA-256 {target.Sha256[..12]}…: model, optimizer and strategy state, scores).");
            return true;
        }

        var expected = SafetensorsFile.Read(target.Path);
        var actual = SafetensorsFile.Read(rerun.Path);
        var differing = new List<string>();
        foreach (var t in expected.Tensors)
        {
            if (!actual.Contains(t.Name))
            {
                differing.Add($"{t.Name} (missing in the re-run)");
                continue;
            }

            var e = t.AsFloat32();
            var a = actual.Get(t.Name).AsFloat32();
            double max = e.Length != a.Length ? double.PositiveInfinity : e.Zip(a).Max(p => (double)Math.Abs(p.First - p.Second));
            if (!(max == 0))
            {
                differing.Add(string.Create(inv, $"{t.Name} (max |diff| {max:G4})"));
            }
        }

        var metadata = expected.Metadata.Where(kv => !actual.Metadata.TryGetValue(kv.Key, out var v) || v != kv.Value).Select(kv => kv.Key).ToList();
        string tensors = differing.Count > 0 ? $" ({string.Join(", ", differing.Take(5))}{(differing.Count > 5 ? ", …" : "")})" : "";
        string keys = metadata.Count > 0 ? $", metadata {string.Join(", ", metadata)}" : "";
        Console.WriteLine(string.Create(inv, $"checkpoint: the re-run's {Path.GetFileName(rerun.Path)} differs from {target.Path}: {differing.Count} of {expected.Tensors.Count} tensor(s){tensors}{keys}."));
        return false;
    }

    /// <summary>
    /// The run and position a checkpoint file belongs to: its folder names the run (run-NNNNNN, as the worker writes it),
    /// the store's record of that run's checkpoints confirms the file (same name, same SHA-256), and its metadata gives the
    /// position. A file the run did not record, or one changed since, is refused: there is nothing to compare it with.
    /// </summary>
    private static async Task<TargetCheckpoint> FindCheckpointAsync(IRunStore store, string target, CancellationToken cancellationToken)
    {
        var inv = CultureInfo.InvariantCulture;
        string path = Path.GetFullPath(target);
        var match = RunFolder().Match(Path.GetFileName(Path.GetDirectoryName(path)) ?? "");
        if (!match.Success || !long.TryParse(match.Groups[1].Value, NumberStyles.None, inv, out long id))
        {
            throw new CliException(ExitCodes.BadInput, $"{path}: a run checkpoint lives in its run's folder results/checkpoints/run-NNNNNN/; this file's folder names no run.");
        }

        var records = await store.GetCheckpointsAsync(id, cancellationToken).ConfigureAwait(false);
        var record = records.LastOrDefault(r => Path.GetFileName(r.Path) == Path.GetFileName(path))
            ?? throw new CliException(ExitCodes.BadInput, string.Create(inv, $"{path}: run {id} in {store.Location} recorded no checkpoint of that name ({records.Count} recorded); is this the store that run belongs to (--db)?"));
        string sha = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false)));
        if (sha != record.Sha256)
        {
            throw new CliException(ExitCodes.Failed, string.Create(inv, $"{path}: SHA-256 {sha[..12]}… is not the {record.Sha256[..12]}… run {id} recorded when it wrote this checkpoint: the file was changed or replaced."));
        }

        return new TargetCheckpoint(id, path, sha, new RunPosition(record.Task, record.Epoch, record.Batch));
    }

    private static string Describe(RunPosition p) => p.Epoch == 0 && p.Batch == 0
        ? string.Create(CultureInfo.InvariantCulture, $"after task {p.Task}")
        : string.Create(CultureInfo.InvariantCulture, $"task {p.Task + 1}, epoch {p.Epoch + 1}, batch {p.Batch}");

    [GeneratedRegex("^run-([0-9]+)$", RegexOptions.CultureInvariant)]
    private static partial Regex RunFolder();

    private sealed record TargetCheckpoint(long RunId, string Path, string Sha256, RunPosition Position);

    /// <summary>Keeps the evaluation rows of the re-run in memory.</summary>
    private sealed class CollectingSink(RunPosition? target) : IRunSink
    {
        /// <summary>Called once the re-run has written the checkpoint of the target position.</summary>
        public Action? Reached { get; set; }

        /// <summary>The re-run's checkpoint at the target position, once written.</summary>
        public CheckpointRecord? Checkpoint { get; private set; }

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

        public Task RecordCheckpointAsync(CheckpointRecord checkpoint, CancellationToken cancellationToken)
        {
            if (target is { } t && Checkpoint is null && checkpoint.Task == t.Task && checkpoint.Epoch == t.Epoch && checkpoint.Batch == t.Batch)
            {
                Checkpoint = checkpoint;
                Reached?.Invoke();
            }

            return Task.CompletedTask;
        }

        public Task RecordDatasetFingerprintAsync(string fingerprint, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task ReportProgressAsync(double progress, string? note, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task CompleteAsync(IReadOnlyList<RunSummaryRow> summary, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
