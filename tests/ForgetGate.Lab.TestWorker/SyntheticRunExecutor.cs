using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Numerics.Random;

namespace ForgetGate.Lab.TestWorker;

/// <summary>
/// A deterministic stand-in for training, used by the store and worker tests only (never shipped: the tests' worker
/// program and the in-process tests compile it in): it walks tasks × epochs × steps,
/// evolves a small state vector from the run's seed, writes curves, evaluation matrices and gate telemetry through
/// the sink, and checkpoints its state to a file after every step so a killed attempt resumes exactly.
/// Selected by <c>"executor": "synthetic"</c> in the run's config. It can be told to crash the process
/// (<c>"crash_at_step"</c>) or to fail non-retryably (<c>"fail"</c>) for the poison-run tests.
/// </summary>
public sealed class SyntheticRunExecutor : IRunExecutor
{
    private const int StateSize = 8;

    /// <inheritdoc />
    public string Name => "synthetic";

    /// <inheritdoc />
    public async Task ExecuteAsync(RunContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var config = SyntheticConfig.Parse(context.ConfigJson);
        if (config.Fail is { } failure)
        {
            throw new NonRetryableRunException(failure);
        }

        int stepsPerEpoch = config.Steps;
        int total = config.Tasks * config.Epochs * stepsPerEpoch;
        var (state, next) = context.LastCheckpoint is { } last
            ? await LoadAsync(last, config.Tasks, cancellationToken).ConfigureAwait(false)
            : (Initial(config.Seed, config.Tasks), 0);

        for (int index = next; index < total; index++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int task = index / (config.Epochs * stepsPerEpoch);
            int epoch = index / stepsPerEpoch % config.Epochs;
            int step = index % stepsPerEpoch;

            if (config.CrashAtStep == index)
            {
                Environment.FailFast($"synthetic run {context.RunId}: crash_at_step {index} (poison-run test)");
            }

            // A per-step stream derived from (seed, position) so a resumed attempt needs no RNG state.
            var rng = new Rng((ulong)config.Seed).Split(string.Create(CultureInfo.InvariantCulture, $"t{task}/e{epoch}/s{step}"));
            double loss = 0;
            for (int i = 0; i < state.Length; i++)
            {
                double target = (i % config.Tasks) == task ? 1.0 : 0.0;
                state[i] = (0.8 * state[i]) + (0.2 * target) + (0.05 * (rng.NextDouble() - 0.5));
                loss += (state[i] - target) * (state[i] - target);
            }

            await Task.Delay(config.StepMilliseconds, cancellationToken).ConfigureAwait(false);
            var sink = context.Sink;
            await sink.WriteTrainingCurveAsync([new TrainingCurveRow(task, epoch, step, loss / state.Length, 1000.0 / Math.Max(1, config.StepMilliseconds))], cancellationToken).ConfigureAwait(false);

            if (step == stepsPerEpoch - 1)
            {
                await sink.WriteEvaluationsAsync(Evaluate(state, task, epoch, config.Tasks), cancellationToken).ConfigureAwait(false);
                if (epoch == config.Epochs - 1)
                {
                    await sink.WriteGateTelemetryAsync(Telemetry(state, task, config.Tasks), cancellationToken).ConfigureAwait(false);
                }
            }

            var checkpoint = await SaveAsync(context, state, index + 1, task, epoch, step, cancellationToken).ConfigureAwait(false);
            await sink.RecordCheckpointAsync(checkpoint, cancellationToken).ConfigureAwait(false);
            await sink.ReportProgressAsync((index + 1) / (double)total, string.Create(CultureInfo.InvariantCulture, $"task {task} epoch {epoch} step {step}"), cancellationToken).ConfigureAwait(false);
        }

        var final = Evaluate(state, config.Tasks - 1, config.Epochs - 1, config.Tasks);
        double acc = final.Average(r => r.Value);
        await context.Sink.CompleteAsync([new RunSummaryRow("acc", "mean-final-row", acc)], cancellationToken).ConfigureAwait(false);
    }

    private static double[] Initial(long seed, int tasks)
    {
        var rng = new Rng((ulong)seed).Split("init");
        var state = new double[StateSize * tasks];
        for (int i = 0; i < state.Length; i++)
        {
            state[i] = rng.NextDouble();
        }

        return state;
    }

    private static List<EvaluationRow> Evaluate(double[] state, int afterTask, int epoch, int tasks)
    {
        var rows = new List<EvaluationRow>(tasks);
        for (int evalTask = 0; evalTask < tasks; evalTask++)
        {
            double score = 0;
            int count = 0;
            for (int i = evalTask; i < state.Length; i += tasks)
            {
                score += state[i];
                count++;
            }

            rows.Add(new EvaluationRow(afterTask, epoch, evalTask, "acc", 1.0 / (1.0 + Math.Exp(-4 * ((score / count) - 0.5)))));
        }

        return rows;
    }

    private static List<GateTelemetryRow> Telemetry(double[] state, int afterTask, int tasks)
    {
        var rows = new List<GateTelemetryRow>();
        for (int layer = 0; layer < 2; layer++)
        {
            for (int evalTask = 0; evalTask < tasks; evalTask++)
            {
                var histogram = new double[20];
                double sum = 0;
                int high = 0, low = 0;
                foreach (double raw in state)
                {
                    double gate = 1.0 / (1.0 + Math.Exp(-((raw * (layer + 1)) - (0.1 * evalTask))));
                    sum += gate;
                    high += gate > 0.9 ? 1 : 0;
                    low += gate < 0.1 ? 1 : 0;
                    histogram[Math.Min(19, (int)(gate * 20))] += 1.0 / state.Length;
                }

                rows.Add(new GateTelemetryRow(afterTask, layer, evalTask, sum / state.Length, high / (double)state.Length, low / (double)state.Length, histogram));
            }
        }

        return rows;
    }

    private static async Task<CheckpointRecord> SaveAsync(RunContext context, double[] state, int next, int task, int epoch, int step, CancellationToken cancellationToken)
    {
        // One file per position, written to a temporary name and renamed: a recorded checkpoint is never rewritten
        // with other content, even by a zombie attempt that writes the same position (it writes the same bytes).
        byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(new SyntheticCheckpoint(next, state), SyntheticJsonContext.Default.SyntheticCheckpoint);
        string path = Path.Combine(context.CheckpointDirectory, string.Create(CultureInfo.InvariantCulture, $"synthetic-{next:D5}.json"));
        string temporary = string.Create(CultureInfo.InvariantCulture, $"{path}.{Environment.ProcessId}.{context.Attempt}.tmp");
        await File.WriteAllBytesAsync(temporary, bytes, cancellationToken).ConfigureAwait(false);
        File.Move(temporary, path, overwrite: true);
        return new CheckpointRecord(task, epoch, step, path, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    private static async Task<(double[] State, int Next)> LoadAsync(CheckpointRecord checkpoint, int tasks, CancellationToken cancellationToken)
    {
        byte[] bytes;
        try
        {
            bytes = await File.ReadAllBytesAsync(checkpoint.Path, cancellationToken).ConfigureAwait(false);
        }
        catch (FileNotFoundException e)
        {
            throw new NonRetryableRunException($"Checkpoint file '{checkpoint.Path}' recorded for this run is missing.", e);
        }

        string sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (!string.Equals(sha, checkpoint.Sha256, StringComparison.Ordinal))
        {
            throw new NonRetryableRunException($"Checkpoint file '{checkpoint.Path}' has SHA-256 {sha}, expected {checkpoint.Sha256}.");
        }

        var saved = JsonSerializer.Deserialize(bytes, SyntheticJsonContext.Default.SyntheticCheckpoint)
            ?? throw new NonRetryableRunException($"Checkpoint file '{checkpoint.Path}' is empty.");
        if (saved.State.Length != StateSize * tasks)
        {
            throw new NonRetryableRunException($"Checkpoint file '{checkpoint.Path}' holds {saved.State.Length} values, expected {StateSize * tasks}.");
        }

        return (saved.State, saved.Next);
    }
}

/// <summary>The synthetic executor's knobs, read from the run's config JSON.</summary>
internal sealed record SyntheticConfig(long Seed, int Tasks, int Epochs, int Steps, int StepMilliseconds, int? CrashAtStep, string? Fail)
{
    public static SyntheticConfig Parse(string json)
    {
        try
        {
            return ParseCore(json);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new NonRetryableRunException($"synthetic config is invalid: {e.Message}", e);
        }
    }

    private static SyntheticConfig ParseCore(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        return new SyntheticConfig(
            Seed: Read(root, "seed", 0),
            Tasks: (int)Read(root, "tasks", 3),
            Epochs: (int)Read(root, "epochs", 2),
            Steps: (int)Read(root, "steps", 3),
            StepMilliseconds: (int)Read(root, "step_ms", 10),
            CrashAtStep: root.TryGetProperty("crash_at_step", out var crash) ? crash.GetInt32() : null,
            Fail: root.TryGetProperty("fail", out var fail) ? fail.GetString() : null) switch
        {
            { Tasks: < 1 or > 100 } c => throw new NonRetryableRunException($"config field 'tasks' = {c.Tasks}: expected 1..100."),
            { Epochs: < 1 } c => throw new NonRetryableRunException($"config field 'epochs' = {c.Epochs}: expected ≥ 1."),
            { Steps: < 1 } c => throw new NonRetryableRunException($"config field 'steps' = {c.Steps}: expected ≥ 1."),
            var c => c,
        };
    }

    private static long Read(JsonElement root, string name, long fallback) =>
        root.TryGetProperty(name, out var value) ? value.GetInt64() : fallback;
}

/// <summary>The synthetic executor's checkpoint: the next step index and the state vector.</summary>
internal sealed record SyntheticCheckpoint(int Next, double[] State);

[JsonSerializable(typeof(SyntheticCheckpoint))]
internal sealed partial class SyntheticJsonContext : JsonSerializerContext;
