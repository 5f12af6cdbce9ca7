using ForgetGate.Lab.Core.Specs;
using ForgetGate.Lab.Core.Training;
using ForgetGate.Lab.Numerics.Engines;

namespace ForgetGate.Lab.Core.Tests.Training;

/// <summary><c>model.init</c> reaches the run's model (spec → run plan → parameters), and the kernel warm-up leaves the run untouched.</summary>
public sealed class ModelInitRunTests
{
    private const string Spec = """
        name: init
        scenario: {kind: drift, tasks: 2, train_per_task: 16, test_per_task: 8, window: 6}
        model: {variant: cifg, hidden: 16}
        training: {batch_size: 8}
        """;

    [Theory]
    [InlineData("rnn")]
    [InlineData("linear")]
    public async Task Run_EitherInit_StartsFromThatInitAndTrains(string init)
    {
        var config = Assert.Single(SpecReader.Parse(Spec, "init.yaml", ["model.init=" + init]).Points).Config;
        var plan = SpecRunPlanFactory.Create(config);
        Assert.Equal(ParameterInitKinds.Parse(init), plan.Options.Init);
        var sink = new MemorySink();
        using var runner = new ContinualRunner(plan.Options, plan.Tasks, sink);

        // Drift feeds one value per step (D = 1): linear's input-side bound is 1/√1 = 1, rnn's 1/√16 = 0.25;
        // linear's hidden-side bias starts at 0. Both then train through the whole sequence.
        float maxIh = ParameterInit.Find(runner.Model.Parameters, "rnn.weight_ih_l0").Value.Max(MathF.Abs);
        var biasHh = ParameterInit.Find(runner.Model.Parameters, "rnn.bias_hh_l0").Value;
        if (init == "linear")
        {
            Assert.InRange(maxIh, 0.25f, 1f);
            Assert.All(biasHh, v => Assert.Equal(0f, v));
        }
        else
        {
            Assert.InRange(maxIh, 0f, 0.25f);
            Assert.Contains(biasHh, v => v != 0f);
        }

        var outcome = await runner.RunAsync(null, null, CancellationToken.None);
        Assert.All(outcome.Scores.Cast<double>(), s => Assert.True(double.IsFinite(s)));
        Assert.Equal(3 * 2, outcome.Scores.Length); // R rows 0..T over T = 2 tasks
    }

    [Fact]
    public async Task Run_WithKernelWarmup_ComputesExactlyWhatItComputesWithout()
    {
        // The warm-up trains a throwaway copy through the run's own path and reads the run's task source; nothing of
        // the run may see it: the same R, the same loss curve, bit for bit.
        var config = Assert.Single(SpecReader.Parse(Spec, "init.yaml").Points).Config;
        async Task<(double[,] Scores, List<double> Losses)> RunOnce(bool warm)
        {
            var plan = SpecRunPlanFactory.Create(config);
            var sink = new MemorySink();
            using var runner = new ContinualRunner(plan.Options with { WarmKernels = warm }, plan.Tasks, sink);
            var outcome = await runner.RunAsync(null, null, CancellationToken.None);
            return (outcome.Scores, sink.Curve.OrderBy(c => c.Key).Select(c => c.Value).ToList());
        }

        var cold = await RunOnce(warm: false);
        var warmed = await RunOnce(warm: true);
        Assert.Equal(cold.Scores, warmed.Scores);
        Assert.NotEmpty(cold.Losses);
        Assert.Equal(cold.Losses, warmed.Losses);
    }
}
