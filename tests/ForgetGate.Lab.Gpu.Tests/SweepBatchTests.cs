using ForgetGate.Lab.Numerics.Engines;
using ForgetGate.Lab.Numerics.Losses;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Optim;
using ForgetGate.Lab.Numerics.Random;
using ForgetGate.Lab.Numerics.Threading;

namespace ForgetGate.Lab.Gpu.Tests;

/// <summary>
/// <see cref="GpuSweepBatch"/>: runs on their own threads, each with its own host optimizer as the runner drives the
/// seam, share launches; each run's numbers are bit-identical to the same run on a gpu network of its own, a member that
/// leaves mid-run does not hold up or disturb the others, and the launches really are shared.
/// </summary>
public sealed class SweepBatchTests(DeviceFixture fixture) : IClassFixture<DeviceFixture>
{
    private const int Input = 3;
    private const int Hidden = 7;
    private const int Classes = 3;
    private const int Steps = 4;
    private const int Batch = 5;
    private const int EvalBatch = 9;

    [Theory]
    [InlineData("lstm", 1)]
    [InlineData("gru", 2)]
    public void MembersOfABatch_EqualTheSameRunsAlone_BitForBit(string variant, int layers)
    {
        var config = new RecurrentModelConfig(Variants.Parse(variant), Input, Hidden, layers, Classes);
        const int Runs = 4;
        var alone = new Trace[Runs];
        for (int r = 0; r < Runs; r++)
        {
            using var network = new GpuNetwork(fixture.Device, config);
            alone[r] = Train(network, r, trainSteps: 4);
        }

        using var batch = new GpuSweepBatch(Runs, () => fixture.Device);
        var together = new Trace[Runs];
        Parallel.For(0, Runs, new ParallelOptions { MaxDegreeOfParallelism = Runs }, r =>
        {
            try
            {
                using var network = batch.EngineFor(r).Create(config, ComputePool.SingleThreaded);
                together[r] = Train(network, r, trainSteps: 4);
            }
            finally
            {
                batch.Leave(r);
            }
        });

        for (int r = 0; r < Runs; r++)
        {
            Assert.Equal(alone[r].Bits, together[r].Bits);
        }

        // Every pass served all four runs: per training step a forward and a backward, plus an evaluation forward at
        // another batch size, each one launch for the four.
        var s = batch.Statistics;
        Assert.Equal(Runs * 4 * 3, s.LaunchedCalls);
        Assert.Equal(4 * 3, s.Launches);
        Assert.Equal(Runs, s.RunsPerLaunch);
    }

    [Fact]
    public void MemberLeavingMidRun_OthersFinishWithTheirNumbersUnchanged()
    {
        var config = new RecurrentModelConfig(Variant.Cifg, Input, Hidden, 1, Classes);
        const int Runs = 3;
        var alone = new Trace[Runs];
        for (int r = 0; r < Runs; r++)
        {
            using var network = new GpuNetwork(fixture.Device, config);
            alone[r] = Train(network, r, trainSteps: r == 1 ? 2 : 5);
        }

        using var batch = new GpuSweepBatch(Runs, () => fixture.Device);
        var together = new Trace[Runs];
        Parallel.For(0, Runs, new ParallelOptions { MaxDegreeOfParallelism = Runs }, r =>
        {
            try
            {
                using var network = batch.EngineFor(r).Create(config, ComputePool.SingleThreaded);
                // Run 1 stops after two steps (cancelled, or its run failed): it disposes its network and leaves.
                together[r] = Train(network, r, trainSteps: r == 1 ? 2 : 5);
            }
            finally
            {
                batch.Leave(r);
            }
        });

        for (int r = 0; r < Runs; r++)
        {
            Assert.Equal(alone[r].Bits, together[r].Bits);
        }

        Assert.Equal((2 * 3 * 3) + (3 * 3 * 2), batch.Statistics.LaunchedCalls);
        Assert.Equal(5 * 3, batch.Statistics.Launches);
    }

    [Fact]
    public void CellFileMembers_EqualTheSameRunsAlone_BitForBit()
    {
        // A cell with a state, a parameter and an input-only block: the interpreted program behind the seam.
        var cell = ForgetGate.Lab.Numerics.Cells.CellGraph.Compile(ForgetGate.Lab.Numerics.Cells.CellDefinition.Create(
            "tiny", ["f", "u", "o"], "f_ = sigmoid(f + w)\nc' = f_ * c + (1 - f_) * tanh(u)\nh' = sigmoid(o) * tanh(c')", "f_",
            states: ["c"], inputOnly: ["o"], parameters: [new("w", "uniform(-0.5, 0.5)")]));
        var config = RecurrentModelConfig.ForCell(cell, Input, Hidden, 1, Classes);
        var alone = new Trace[2];
        for (int r = 0; r < 2; r++)
        {
            using var network = new GpuNetwork(fixture.Device, config);
            alone[r] = Train(network, r, trainSteps: 2);
        }

        using var batch = new GpuSweepBatch(2, () => fixture.Device);
        var together = new Trace[2];
        Parallel.For(0, 2, new ParallelOptions { MaxDegreeOfParallelism = 2 }, r =>
        {
            try
            {
                using var network = batch.EngineFor(r).Create(config, ComputePool.SingleThreaded);
                together[r] = Train(network, r, trainSteps: 2);
            }
            finally
            {
                batch.Leave(r);
            }
        });

        Assert.Equal(alone[0].Bits, together[0].Bits);
        Assert.Equal(alone[1].Bits, together[1].Bits);
        Assert.Equal(2, batch.Statistics.RunsPerLaunch);
    }

    /// <summary>
    /// Trains like the runner: per step a training forward, the loss on the host, backward, the host's Adam (a learning
    /// rate per run), then an evaluation forward at another batch size and the forget gates. Records every float's bits.
    /// </summary>
    private static Trace Train(IRecurrentNetwork network, int run, int trainSteps)
    {
        ParameterInit.Initialize(network, new Rng(700 + (ulong)run), Steps);
        var adam = new Adam(network.Parameters, lr: 0.01f * (run + 1));
        var rng = new Rng(900 + (ulong)run);
        var trace = new Trace();
        var logits = new float[Batch * Classes];
        var dLogits = new float[Batch * Classes];
        var eval = new float[EvalBatch * Classes];
        var gates = new float[Steps * EvalBatch * Hidden];
        for (int step = 0; step < trainSteps; step++)
        {
            var x = Gaussian(rng, Batch * Steps * Input);
            var labels = Enumerable.Range(0, Batch).Select(_ => rng.NextInt(Classes)).ToArray();
            network.Forward(x, Batch, Steps, logits, training: true);
            float loss = Losses.SoftmaxCrossEntropy(logits, labels, Batch, Classes, dLogits);
            network.Backward(dLogits);
            adam.Step();
            trace.Add(loss);
            trace.Add(network.Parameters[0].Gradient);
            network.Forward(Gaussian(rng, EvalBatch * Steps * Input), EvalBatch, Steps, eval, training: false);
            trace.Add(eval);
            int n = network.CopyForgetGates(network.Config.Layers - 1, gates);
            trace.Add(gates.AsSpan(0, n));
        }

        foreach (var p in network.Parameters)
        {
            trace.Add(p.Value);
        }

        return trace;
    }

    private static float[] Gaussian(Rng rng, int n)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = (float)rng.NextGaussian();
        }

        return x;
    }

    private sealed class Trace
    {
        public List<int> Bits { get; } = [];

        public void Add(float value) => Bits.Add(BitConverter.SingleToInt32Bits(value));

        public void Add(ReadOnlySpan<float> values)
        {
            foreach (float v in values)
            {
                Add(v);
            }
        }
    }
}
