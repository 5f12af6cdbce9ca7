using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Core.Training;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Threading;

namespace ForgetGate.Lab.Core.Tests.Training;

public sealed class ContinualRunnerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fg-run-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ContinualRunOptions Options(string strategy = "naive", Variant variant = Variant.Lstm, int checkpointEvery = 0, int threads = 1) => new(
        variant, Hidden: 8, Layers: 1, EpochsPerTask: 2, BatchSize: 16,
        new OptimizerOptions("adam", LearningRate: 0.03),
        new StrategyOptions(strategy, BufferSize: 64, ReplayFraction: 0.5, EwcLambda: 10, EwcGamma: 0.9, FisherSamples: 32),
        Seed: 1234, ClipNorm: 5, EvaluateEveryEpoch: true, CheckpointEveryBatches: checkpointEvery, Threads: threads,
        EvaluationBatchSize: 64, GateProbeSamples: 32);

    private static async Task<MemorySink> RunAsync(ContinualRunOptions options, ITaskSource data, string? checkpoints, ComputePool? pool = null)
    {
        var recorder = new MemorySink();
        using var runner = new ContinualRunner(options, data, recorder, pool);
        await runner.RunAsync(checkpoints, resumeFrom: null, CancellationToken.None);
        return recorder;
    }

    [Fact]
    public async Task RunAsync_TinySequence_LearnsEveryTaskAndWritesEveryRowOnce()
    {
        var data = new ToyTasks(tasks: 3, trainPerTask: 768, testPerTask: 256, seed: 7);
        var recorder = new MemorySink();
        double[,] outcomeScores;
        using (var runner = new ContinualRunner(Options(), data, recorder))
        {
            outcomeScores = (await runner.RunAsync(Path.Combine(_dir, "ck"), null, CancellationToken.None)).Scores;
        }

        var r = recorder.AccuracyMatrix(3, 2);
        Assert.Equal(r, outcomeScores);
        for (int j = 0; j < 3; j++)
        {
            // A linearly separable sign task: 2 epochs of 48 batches reach well above chance (0.5).
            Assert.True(r[j + 1, j] > 0.75, $"R[{j + 1}][{j}] = {r[j + 1, j]}");
        }

        // Rows: (1 baseline + 3 tasks × 2 epochs) evaluations × 3 tasks × 2 metrics, each written once.
        Assert.Equal((1 + (3 * 2)) * 3 * 2, recorder.Evaluations.Count);
        Assert.Equal(0, recorder.DuplicateEvaluationWrites);
        Assert.Equal(3 * 2 * 48, recorder.Curve.Count);
        Assert.Equal(3 * 3, recorder.Gates.Count); // after each task × each eval task × 1 layer
        Assert.All(recorder.Gates, g => Assert.Equal(1.0, g.Histogram.Sum(), 9)); // fractions of 32 probes × 4 steps × 8 units
        Assert.Equal(3, recorder.Checkpoints.Count);
    }

    [Theory]
    [InlineData("naive", 0)]
    [InlineData("replay", 0)]
    [InlineData("ewc", 0)]
    [InlineData("cumulative", 0)]
    [InlineData("replay", 5)]
    [InlineData("ewc", 5)]
    public async Task RunAsync_ResumedFromEveryCheckpoint_MatchesUninterruptedBitForBit(string strategy, int checkpointEvery)
    {
        var data = new ToyTasks(tasks: 3, trainPerTask: 128, testPerTask: 64, seed: 3);
        var options = Options(strategy, Variant.Lstm, checkpointEvery);
        var full = new MemorySink();
        float[][] finalParameters;
        RunOutcome fullOutcome;
        using (var runner = new ContinualRunner(options, data, full))
        {
            fullOutcome = await runner.RunAsync(Path.Combine(_dir, "full"), null, CancellationToken.None);
            finalParameters = runner.Model.Parameters.Select(p => p.Value.ToArray()).ToArray();
        }

        Assert.NotEmpty(full.Checkpoints);
        foreach (var checkpoint in full.Checkpoints.Where(c => c.Task < data.TaskCount))
        {
            var resumed = new MemorySink();
            using var runner = new ContinualRunner(options, data, resumed);
            var outcome = await runner.RunAsync(Path.Combine(_dir, "resume"), checkpoint.Path, CancellationToken.None);
            Assert.Equal(fullOutcome.Scores, outcome.Scores); // R survives the checkpoint, so summaries need no re-read

            foreach (var (key, value) in resumed.Evaluations)
            {
                Assert.True(full.Evaluations.TryGetValue(key, out var expected), $"unexpected row {key}");
                Assert.Equal(expected, value); // bit-identical, not approximately equal
            }

            for (int p = 0; p < finalParameters.Length; p++)
            {
                Assert.Equal(finalParameters[p], runner.Model.Parameters[p].Value);
            }

            Assert.True(resumed.Evaluations.Count > 0, $"resume from {checkpoint} evaluated nothing");
        }
    }

    [Fact]
    public async Task RunAsync_Cancelled_CheckpointsPositionAndResumesToSameResult()
    {
        var data = new ToyTasks(tasks: 2, trainPerTask: 128, testPerTask: 64, seed: 5);
        var options = Options("replay");
        var full = await RunAsync(options, data, null);

        using var cts = new CancellationTokenSource();
        var first = new MemorySink();
        using (var runner = new ContinualRunner(options, data, first, progress: new CancelAt(cts, report: 3)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => runner.RunAsync(Path.Combine(_dir, "c"), null, cts.Token));
        }

        // Task 0 ends with a checkpoint; the cancellation adds one in the middle of task 1.
        Assert.Equal(2, first.Checkpoints.Count);
        var last = first.Checkpoints[^1];
        Assert.True(last.Batch > 0 || last.Epoch > 0, $"checkpoint {last} is not mid-task");

        var second = new MemorySink();
        using (var runner = new ContinualRunner(options, data, second))
        {
            await runner.RunAsync(Path.Combine(_dir, "c"), last.Path, CancellationToken.None);
        }

        var merged = new Dictionary<(int, int, int, string), double>(first.Evaluations);
        foreach (var (k, v) in second.Evaluations)
        {
            merged[k] = v;
        }

        Assert.Equal(full.Evaluations.OrderBy(k => k.Key), merged.OrderBy(k => k.Key));
    }

    [Theory]
    [InlineData(Variant.Lstm)]
    [InlineData(Variant.Gru)]
    [InlineData(Variant.UrLstm)]
    public async Task RunAsync_TwoThreads_BitIdenticalToOneThread(Variant variant)
    {
        var data = new ToyTasks(tasks: 2, trainPerTask: 96, testPerTask: 64, seed: 9);
        var one = await RunAsync(Options(variant: variant), data, null);
        using var pool = new ComputePool(2);
        var two = await RunAsync(Options(variant: variant, threads: 2), data, null, pool);
        Assert.Equal(one.Evaluations.OrderBy(k => k.Key), two.Evaluations.OrderBy(k => k.Key));
    }

    [Fact]
    public async Task RunAsync_MultiHead_PredictsOnlyTheTasksClasses()
    {
        var data = new ToyTasks(tasks: 3, trainPerTask: 768, testPerTask: 256, seed: 11, multiHead: true);
        var recorder = await RunAsync(Options(), data, null);
        var r = recorder.AccuracyMatrix(3, 2);
        // With the softmax restricted to the task's 2 classes, chance is 0.5 per task, never 1/6.
        for (int j = 0; j < 3; j++)
        {
            Assert.True(r[j + 1, j] > 0.75, $"R[{j + 1}][{j}] = {r[j + 1, j]}");
        }
    }

    [Fact]
    public async Task RunAsync_Cumulative_ForgetsLessThanNaive()
    {
        var data = new ToyTasks(tasks: 3, trainPerTask: 256, testPerTask: 256, seed: 21);
        var naive = (await RunAsync(Options("naive"), data, null)).AccuracyMatrix(3, 2);
        var joint = (await RunAsync(Options("cumulative"), data, null)).AccuracyMatrix(3, 2);
        double naiveFinal = (naive[3, 0] + naive[3, 1]) / 2;
        double jointFinal = (joint[3, 0] + joint[3, 1]) / 2;
        Assert.True(jointFinal > naiveFinal, $"cumulative {jointFinal} vs naive {naiveFinal} on old tasks");
    }

    /// <summary>Cancels on the N-th progress report (progress is reported every 8 batches).</summary>
    private sealed class CancelAt(CancellationTokenSource cts, int report) : IProgress<RunProgress>
    {
        private int _reports;

        // Task 0 has 2 epochs of 8 batches, so the third report comes 8 batches into task 1,
        // whose replay batches halve the current share (16 batches an epoch): a mid-epoch stop.
        public void Report(RunProgress value)
        {
            if (++_reports == report)
            {
                cts.Cancel();
            }
        }
    }
}

/// <summary>The runner meets engines only through the seam; an engine that cannot run fails the run, not the worker.</summary>
public sealed class EngineSelectionTests
{
    [Fact]
    public async Task Execute_EngineNotInThisProgram_FailsNonRetryableWithOneSentence()
    {
        // Core's tests do not reference the torch project, so 'torch' is a known name without a registered engine:
        // the executor must turn that into a non-retryable failure (the worker records it and goes on).
        var options = new ContinualRunOptions(
            Variant.Lstm, 4, 1, 1, 8, new OptimizerOptions(), new StrategyOptions(), Seed: 1, Engine: "torch");
        var plan = new RunPlan(options, new ToyTasks(tasks: 2, trainPerTask: 16, testPerTask: 8, seed: 1), "toy");
        var executor = new TrainingRunExecutor(new FixedPlan(plan), (_, _) => []);
        var dir = Directory.CreateTempSubdirectory("fg-engine-").FullName;
        try
        {
            var context = new RunContext(1, 1, "{}", "h", 1, 1, 1, dir, null, new MemorySink());
            var e = await Assert.ThrowsAsync<NonRetryableRunException>(() => executor.ExecuteAsync(context, CancellationToken.None));
            Assert.Contains("Engine 'torch'", e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Runner_DefaultEngine_IsManaged()
    {
        var options = new ContinualRunOptions(Variant.Gru, 4, 2, 1, 8, new OptimizerOptions(), new StrategyOptions(), Seed: 1);
        using var runner = new ContinualRunner(options, new ToyTasks(tasks: 2, trainPerTask: 16, testPerTask: 8, seed: 1), new MemorySink());
        Assert.Equal("managed", runner.Model.Engine);
        Assert.Equal(2, runner.Model.Config.Layers);
    }

    private sealed class FixedPlan(RunPlan plan) : IRunPlanFactory
    {
        public RunPlan Create(string configJson) => plan;
    }
}
