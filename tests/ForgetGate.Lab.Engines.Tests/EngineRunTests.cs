using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Core.Specs;
using ForgetGate.Lab.Core.Training;
using ForgetGate.Lab.Numerics.Engines;
using ForgetGate.Lab.Torch;

namespace ForgetGate.Lab.Engines.Tests;

/// <summary>
/// Whole runs through the runner on each engine: a 3-task permuted Fashion-MNIST sequence gives the same ACC within
/// 0.02 for built-ins and every shipped cell file (found in experiments/cells as a spec there finds them), and a torch
/// run resumed from its checkpoint (parameters, Adam moments, scores) ends where the uninterrupted one ends. Needs
/// Debian's dataset-fashion-mnist (CI installs it).
/// </summary>
public sealed class EngineRunTests : IDisposable
{
    private const string Spec = """
        name: engines
        seed: 3
        scenario:
          kind: permuted
          tasks: 3
          train_per_task: 1000
          test_per_task: 300
        model:
          variant: lstm
          hidden: 24
        training:
          epochs_per_task: 1
          batch_size: 50
          eval_every_epoch: false
          optimizer:
            lr: 0.005
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("fg-engine-run-").FullName;

    public EngineRunTests() => ModelEngines.Register(TorchEngine.Instance);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("lstm")]
    [InlineData("ur-lstm")]
    public async Task Run_PermutedThreeTasks_AccAgreesAcrossEngines(string variant)
    {
        double managed = Acc(await RunAsync(variant, "managed", null, null));
        double torch = Acc(await RunAsync(variant, "torch", null, null));
        Assert.True(managed > 0.2, $"managed ACC {managed} is near chance (0.1): the comparison would mean nothing");
        Assert.True(Math.Abs(managed - torch) <= 0.02, $"{variant}: ACC managed {managed:F4}, torch {torch:F4}");
        Console.WriteLine($"{variant}: ACC managed {managed:F4}, torch {torch:F4}");
    }

    [Theory]
    [InlineData("lstm-generic")]
    [InlineData("slstm")]
    [InlineData("janet")]
    [InlineData("peephole")]
    [InlineData("minlstm")]
    public async Task Run_PermutedThreeTasks_CellAccAgreesAcrossEngines(string cell)
    {
        // The autograd cross-check of issue 14's generated backward at the scale of a run: 60 Adam steps on real data.
        double managed = Acc(await RunAsync(cell, "managed", null, null));
        double torch = Acc(await RunAsync(cell, "torch", null, null));
        Assert.True(managed > 0.2, $"managed ACC {managed} is near chance (0.1): the comparison would mean nothing");
        Assert.True(Math.Abs(managed - torch) <= 0.02, $"{cell}: ACC managed {managed:F4}, torch {torch:F4}");
        Console.WriteLine($"{cell}: ACC managed {managed:F4}, torch {torch:F4}");
    }

    [Theory]
    [InlineData("gru")]
    [InlineData("peephole")]
    public async Task Resume_TorchRunFromItsTaskCheckpoint_EndsWhereTheUninterruptedRunEnds(string variant)
    {
        // peephole: a cell file's params (rnn.p_*_l0) and definition travel through the run checkpoint too.
        string ck = Path.Combine(_dir, "ck-" + variant);
        var full = await RunAsync(variant, "torch", ck, null);
        string afterTask1 = Directory.GetFiles(ck, "t001-*.safetensors").Single();
        var resumed = await RunAsync(variant, "torch", null, afterTask1);
        // Same thread count (1), same libtorch build: the resumed run's last row matches to float32 rounding of libtorch's
        // own kernels (bit-identical here; 1e-6 allows for a libtorch that picks another kernel on reload).
        for (int j = 0; j < 3; j++)
        {
            Assert.True(Math.Abs(full[3, j] - resumed[3, j]) <= 1e-6, $"R[3][{j}]: uninterrupted {full[3, j]}, resumed {resumed[3, j]}");
        }
    }

    private static async Task<double[,]> RunAsync(string variant, string engine, string? checkpoints, string? resumeFrom)
    {
        var config = Assert.Single(SpecReader.Parse(Spec, Path.Combine(Parity.Experiments, "engines.yaml"), [$"model.variant={variant}", $"model.engine={engine}"]).Points).Config;
        var plan = SpecRunPlanFactory.Create(config);
        Assert.Equal(engine, plan.Options.Engine);
        using var runner = new ContinualRunner(plan.Options, plan.Tasks, DiscardingRunSink.Instance);
        Assert.Equal(engine, runner.Model.Engine);
        return (await runner.RunAsync(checkpoints, resumeFrom, CancellationToken.None)).Scores;
    }

    private static double Acc(double[,] r) => (r[3, 0] + r[3, 1] + r[3, 2]) / 3;
}
