using ForgetGate.Lab.Core.Scenarios;
using ForgetGate.Lab.Core.Training;
using ForgetGate.Lab.Core.Training.Strategies;
using ForgetGate.Lab.Numerics.Random;

namespace ForgetGate.Lab.Core.Tests.Training.Strategies;

public sealed class OutputMatchingTests
{
    [Theory]
    [InlineData(false, 1.0, 2.0)]
    [InlineData(false, 0.7, 3.5)]
    [InlineData(true, 1.3, 2.0)]
    public void LwfDistillation_Classification_GradientMatchesFiniteDifferencesAndKlByHand(bool multiHead, double alpha, double tau)
    {
        var data = new ToyTasks(tasks: 3, trainPerTask: 9, testPerTask: 2, seed: 3, multiHead: multiHead);
        int c = data.Outputs;
        var rng = new Rng(5);
        var oldRows = Enumerable.Range(0, 9).Select(_ => Enumerable.Range(0, c).Select(_ => (float)(2 * rng.NextGaussian())).ToArray()).ToArray();
        var host = new StrategyTestModel(data) { Outputs = s => oldRows[s.Index] };
        var lwf = new LwfStrategy(alpha, tau);
        lwf.BeforeTask(2, host); // 9 samples through MaxBatch 7: two chunks
        Assert.Equal(oldRows.SelectMany(r => r).ToArray(), lwf.OldOutputs.ToArray());

        SampleRef[] batch = [new(2, 4), new(2, 0), new(2, 8)];
        var output = Enumerable.Range(0, batch.Length * c).Select(_ => (float)rng.NextGaussian()).ToArray();
        var d = new float[output.Length];
        double loss = lwf.DistillationLoss(2, batch, output, d, data);

        // By hand: α·τ²·mean_b Σ_heads KL(softmax(z_old/τ) ‖ softmax(z/τ)), heads = old tasks' classes or all outputs.
        int[][] heads = multiHead ? [[0, 1], [2, 3]] : [Enumerable.Range(0, c).ToArray()];
        double Loss(float[] z)
        {
            double sum = 0;
            for (int b = 0; b < batch.Length; b++)
            {
                foreach (var head in heads)
                {
                    var pOld = Softmax(head.Select(k => oldRows[batch[b].Index][k] / tau).ToArray());
                    var pNew = Softmax(head.Select(k => z[(b * c) + k] / tau).ToArray());
                    sum += pOld.Zip(pNew, (po, pn) => po * Math.Log(po / pn)).Sum();
                }
            }

            return alpha * tau * tau * sum / batch.Length;
        }

        Assert.Equal(Loss(output), loss, 10);
        const float h = 1e-2f;
        for (int i = 0; i < output.Length; i++)
        {
            var up = output.ToArray();
            up[i] += h;
            var down = output.ToArray();
            down[i] -= h;
            double fd = (Loss(up) - Loss(down)) / (up[i] - down[i]);
            Assert.True(Math.Abs(d[i] - fd) <= 1e-5 + (1e-4 * Math.Abs(fd)), $"dL/dz[{i}] = {d[i]}, finite differences {fd}");
        }

        if (multiHead)
        {
            Assert.All(Enumerable.Range(0, batch.Length), b => Assert.Equal([0f, 0f], d.AsSpan((b * c) + 4, 2).ToArray())); // the current head is free
        }
    }

    [Fact]
    public void LwfDistillation_Regression_IsAlphaTimesMseAgainstOldOutputs()
    {
        var data = new DriftTasks(new DriftOptions(DriftKind.Abrupt, RegimeFamily.Sinusoid, 2, 6, 2, 5, 2, 0.05), 1);
        var rng = new Rng(8);
        var oldRows = Enumerable.Range(0, 6).Select(_ => new[] { (float)rng.NextGaussian(), (float)rng.NextGaussian() }).ToArray();
        var lwf = new LwfStrategy(0.5, 2);
        lwf.BeforeTask(1, new StrategyTestModel(data) { Outputs = s => oldRows[s.Index] });
        SampleRef[] batch = [new(1, 5), new(1, 2)];
        float[] output = [0.5f, -1f, 2f, 0.25f];
        var d = new float[4];
        double loss = lwf.DistillationLoss(1, batch, output, d, data);
        double expected = 0;
        for (int b = 0; b < 2; b++)
        {
            for (int k = 0; k < 2; k++)
            {
                double diff = output[(b * 2) + k] - oldRows[batch[b].Index][k];
                expected += diff * diff;
                Assert.Equal(0.5 * 2 * diff / 4, d[(b * 2) + k], 6);
            }
        }

        Assert.Equal(0.5 * expected / 4, loss, 6);
    }

    [Fact]
    public void DerppLoss_FromStoredLogits_IsAlphaMseOnFirstDrawPlusBetaTaskLossOnSecond()
    {
        var data = new ToyTasks(tasks: 2, trainPerTask: 40, testPerTask: 2, seed: 3);
        const int c = 2;
        var derpp = new DerppStrategy(bufferSize: 6, alpha: 0.3, beta: 0.5);
        var root = new Rng(11);

        // Fill the reservoir from 3 steps of 4 samples; each sample's output at insertion encodes its index.
        static float[] Logits(SampleRef s) => [s.Index, -0.5f * s.Index];
        for (int step = 0; step < 3; step++)
        {
            var current = Enumerable.Range(step * 4, 4).Select(i => new SampleRef(0, i)).ToArray();
            derpp.AfterBatch(0, 0, step, current, current.SelectMany(Logits).ToArray(), root);
        }

        Assert.Equal(6, derpp.Buffer.Count);
        Assert.Equal(12, derpp.Buffer.Seen);
        for (int slot = 0; slot < 6; slot++)
        {
            Assert.Equal(Logits(derpp.Buffer[slot]), derpp.StoredOutputs(slot).ToArray()); // outputs travel with their sample
        }

        var batch = new List<SampleRef> { new(1, 0), new(1, 1), new(1, 2), new(1, 3) };
        derpp.ExtendBatch(1, 0, 0, batchSize: 4, root, batch);
        Assert.Equal(4 + (2 * 4), batch.Count);
        Assert.Equal(4, batch.Skip(4).Take(4).Distinct().Count()); // each draw is without replacement
        Assert.Equal(4, batch.Skip(8).Distinct().Count());

        var rng = new Rng(12);
        var output = Enumerable.Range(0, batch.Count * c).Select(_ => (float)rng.NextGaussian()).ToArray();
        var d = new float[output.Length];
        var host = new StrategyTestModel(data);
        double loss = derpp.Loss(1, batch, 4, output, d, host);

        double sum = 0;
        for (int r = 4; r < 8; r++)
        {
            var z = Logits(batch[r]);
            for (int k = 0; k < c; k++)
            {
                double diff = output[(r * c) + k] - z[k];
                sum += diff * diff;
                Assert.Equal(0.3 * 2 * diff / (4 * c), d[(r * c) + k], 6);
            }
        }

        Assert.Equal(0.3 * sum / (4 * c), loss, 6); // the host's task loss returns 0; its calls are checked below
        Assert.Equal([(0, 4, 1f), (8, 4, 0.5f)], host.TaskLossCalls);
    }

    [Fact]
    public void Derpp_EmptyBuffer_TrainsOnTheTaskLossAlone()
    {
        var data = new ToyTasks(tasks: 2, trainPerTask: 4, testPerTask: 2, seed: 3);
        var derpp = new DerppStrategy(8, 0.3, 0.5);
        var batch = new List<SampleRef> { new(0, 0), new(0, 1) };
        derpp.ExtendBatch(0, 0, 0, 2, new Rng(1), batch);
        Assert.Equal(2, batch.Count);
        var host = new StrategyTestModel(data);
        derpp.Loss(0, batch, 2, new float[4], new float[4], host);
        Assert.Equal([(0, 2, 1f)], host.TaskLossCalls);
    }

    private static double[] Softmax(double[] z)
    {
        double max = z.Max();
        var e = z.Select(v => Math.Exp(v - max)).ToArray();
        double s = e.Sum();
        return e.Select(v => v / s).ToArray();
    }
}
