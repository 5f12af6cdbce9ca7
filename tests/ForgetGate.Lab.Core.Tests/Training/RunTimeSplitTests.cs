using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Core.Training;
using ForgetGate.Lab.Numerics.Models;

namespace ForgetGate.Lab.Core.Tests.Training;

/// <summary>A run's wall time split into data preparation, training, evaluation, checkpointing and store writes.</summary>
public sealed class RunTimeSplitTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fg-split-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A sink whose every write takes at least 5 ms, like a slow store.</summary>
    private sealed class SlowSink : IRunSink
    {
        public int Writes;

        private async Task Slow()
        {
            Interlocked.Increment(ref Writes);
            await Task.Delay(5);
        }

        public Task WriteEvaluationsAsync(IReadOnlyList<EvaluationRow> rows, CancellationToken cancellationToken) => Slow();

        public Task WriteTrainingCurveAsync(IReadOnlyList<TrainingCurveRow> rows, CancellationToken cancellationToken) => Slow();

        public Task WriteGateTelemetryAsync(IReadOnlyList<GateTelemetryRow> rows, CancellationToken cancellationToken) => Slow();

        public Task WriteGateStepsAsync(IReadOnlyList<GateStepRow> rows, CancellationToken cancellationToken) => Slow();

        public Task RecordCheckpointAsync(CheckpointRecord checkpoint, CancellationToken cancellationToken) => Slow();

        public Task RecordDatasetFingerprintAsync(string fingerprint, CancellationToken cancellationToken) => Slow();

        public Task ReportProgressAsync(double progress, string? note, CancellationToken cancellationToken) => Slow();

        public Task CompleteAsync(IReadOnlyList<RunSummaryRow> summary, CancellationToken cancellationToken) => Slow();
    }

    [Fact]
    public async Task RunAsync_SplitsTheWallTime_PartsAddUp_StoreWritesCounted()
    {
        var options = new ContinualRunOptions(
            Variant.Lstm, Hidden: 8, Layers: 1, EpochsPerTask: 1, BatchSize: 16,
            new OptimizerOptions("adam", LearningRate: 0.03),
            new StrategyOptions("naive", BufferSize: 0, ReplayFraction: 0, EwcLambda: 0, EwcGamma: 1, FisherSamples: 1),
            Seed: 5, ClipNorm: null, EvaluateEveryEpoch: true, CheckpointEveryBatches: 0, Threads: 1,
            EvaluationBatchSize: 64, GateProbeSamples: 16);
        var data = new ToyTasks(tasks: 2, trainPerTask: 256, testPerTask: 128, seed: 3);
        var sink = new SlowSink();
        using var runner = new ContinualRunner(options, data, sink);
        var split = (await runner.RunAsync(Path.Combine(_dir, "ck"), null, CancellationToken.None)).TimeSplit!;

        Assert.Equal(split.Wall, split.Data + split.Train + split.Eval + split.Checkpoint + split.Store, 6);
        Assert.All(new[] { split.Data, split.Train, split.Eval, split.Checkpoint }, part => Assert.True(part > 0, split.ToString()));
        Assert.True(split.Store >= sink.Writes * 0.005 * 0.9, $"{sink.Writes} writes of ≥ 5 ms, store {split.Store:F3} s");

        var rows = split.ToSummaryRows().ToList();
        Assert.Equal(RunTimeSplit.Names, rows.Select(r => r.Metric));
        Assert.Equal(split.Eval, rows[2].Value);
    }
}
