using ForgetGate.Lab.Core.Training;
using ForgetGate.Lab.Numerics.Models;

namespace ForgetGate.Lab.Core.Tests.Training;

/// <summary>Gates through time as the runner records them: at every evaluation, per task and layer, through the engine seam.</summary>
public sealed class GateStepsRunTests
{
    private static ContinualRunOptions Options(bool everyEpoch, Variant variant = Variant.Lstm) => new(
        variant, Hidden: 8, Layers: 2, EpochsPerTask: 2, BatchSize: 16,
        new OptimizerOptions("adam", LearningRate: 0.03),
        new StrategyOptions("naive", BufferSize: 64, ReplayFraction: 0.5, EwcLambda: 10, EwcGamma: 0.9, FisherSamples: 32),
        Seed: 99, ClipNorm: 5, EvaluateEveryEpoch: everyEpoch, CheckpointEveryBatches: 0, Threads: 1,
        EvaluationBatchSize: 64, GateProbeSamples: 32);

    [Theory]
    [InlineData(true, 1 + (2 * 2))]
    [InlineData(false, 1 + 2)]
    public async Task RunAsync_RecordsGateStepsAtEveryEvaluation_MatchingTheModelsOwnGates(bool everyEpoch, int evaluations)
    {
        var data = new ToyTasks(tasks: 2, trainPerTask: 256, testPerTask: 64, seed: 3);
        var sink = new MemorySink();
        using var runner = new ContinualRunner(Options(everyEpoch), data, sink);
        await runner.RunAsync(null, null, CancellationToken.None);

        // One row per evaluation × task × layer, at the evaluations' own (after_task, epoch).
        Assert.Equal(evaluations * 2 * 2, sink.GateSteps.Count);
        Assert.Equal(
            sink.Evaluations.Keys.Select(k => (k.Item1, k.Item2)).Distinct().Order(),
            sink.GateSteps.Select(g => (g.AfterTask, g.Epoch)).Distinct().Order());
        Assert.All(sink.GateSteps, g =>
        {
            Assert.Equal((4, 8, 32, 4, 32, 4L * 32 * 8), (g.Steps, g.Units, g.ProbeCount, g.StepMeans.Count, g.SampleGates.Count, g.Spread.Count));
            Assert.InRange(g.Spread.Min, 0, 1); // σ(f) of an LSTM
            Assert.InRange(g.Spread.Max, 0, 1);
            Assert.Equal(g.Spread.Count, g.Spread.Counts.Sum());
        });

        // The last rows are the final model's gates: recompute them from the model directly.
        var steps = 4;
        var x = new float[32 * steps * 3];
        var output = new float[32 * 2];
        var gates = new float[steps * 32 * 8];
        foreach (var row in sink.GateSteps.Where(g => g.AfterTask == 2 && g.Epoch == 2))
        {
            data.FillBatch(row.EvalTask, DataSplit.Test, Enumerable.Range(0, 32).ToArray(), x, new int[32], default);
            runner.Model.Forward(x, 32, steps, output, training: true);
            runner.Model.CopyForgetGates(row.Layer, gates);
            for (int t = 0; t < steps; t++)
            {
                Assert.Equal(gates.AsSpan(t * 256, 256).ToArray().Average(v => (double)v), row.StepMeans[t], 12);
                for (int u = 0; u < 8; u++)
                {
                    Assert.Equal(gates[(t * 256) + u], row.SampleGates[(u * steps) + t]); // sample 0, unit u, step t
                }
            }
        }

        // Training moved the gates: the untrained row differs from the last one.
        var first = sink.GateSteps.First(g => g.AfterTask == 0 && g.Layer == 0 && g.EvalTask == 0);
        var last = sink.GateSteps.Last(g => g.Layer == 0 && g.EvalTask == 0);
        Assert.NotEqual(first.StepMeans, last.StepMeans);
    }
}
