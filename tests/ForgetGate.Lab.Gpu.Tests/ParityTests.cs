using ForgetGate.Lab.Numerics.Losses;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Optim;
using ForgetGate.Lab.Numerics.Random;

namespace ForgetGate.Lab.Gpu.Tests;

/// <summary>
/// The GPU engine's kernels (on ILGPU's CPU accelerator) against the managed engine from the same initial
/// parameters. Shapes are small but cross every edge: H = 20 and B = 5 leave partial 64-wide GEMM tiles and
/// 16-deep K slices; two layers exercise the input gradient between layers.
/// The tolerances: both engines compute in float32 with different summation orders and exp/tanh implementations
/// (the managed engine's polynomial exp, here ex2-based exp and tanh = 2σ(2x) − 1), so values agree to a few ulps
/// per operation; 1e-4 on logits of order 0.1–1 and 1e-3 relative on gradients leave room for that and no more.
/// </summary>
public sealed class ParityTests(DeviceFixture fixture) : IClassFixture<DeviceFixture>
{
    private const int Input = 6;
    private const int Hidden = 20;
    private const int Classes = 3;
    private const int Batch = 5;
    private const int Steps = 4;

    public static TheoryData<string> AllVariants => [.. Variants.All.Select(v => v.Name())];

    [Theory]
    [MemberData(nameof(AllVariants))]
    public void ForwardAndBackward_MatchManaged(string name)
    {
        var config = new RecurrentModelConfig(Variants.Parse(name), Input, Hidden, 2, Classes);
        using var managed = NewModel(config, seed: 11);
        var (x, labels) = Data(seed: 12, runs: 1);
        var expected = new float[Batch * Classes];
        managed.Forward(x, Batch, Steps, expected, training: true);
        var dLogits = new float[Batch * Classes];
        Losses.SoftmaxCrossEntropy(expected, labels, Batch, Classes, dLogits);
        managed.Backward(dLogits);

        using var gpu = new GpuRecurrentBatch(fixture.Device, config, 1);
        gpu.SetParameters(0, managed.Parameters);
        var actual = new float[Batch * Classes];
        gpu.Forward(x, Batch, Steps, actual, training: true);
        AssertClose(expected, actual, 1e-4, "logits");

        gpu.Backward(dLogits);
        using var copy = new RecurrentModel(config);
        gpu.GetGradients(0, copy.Parameters);
        for (int p = 0; p < copy.Parameters.Count; p++)
        {
            AssertRelative(managed.Parameters[p].Gradient, copy.Parameters[p].Gradient, 1e-3, managed.Parameters[p].Name);
        }

        // Gate telemetry reads the same effective forget gate.
        for (int layer = 0; layer < 2; layer++)
        {
            var gates = new float[Steps * Batch * Hidden];
            managed.CopyForgetGates(layer, gates);
            AssertClose(gates, gpu.CopyForgetGates(0, layer), 1e-5, $"forget gate l{layer}");
        }
    }

    [Theory]
    [InlineData("lstm", false)]
    [InlineData("gru", true)]
    [InlineData("ur-lstm", false)]
    public void TrainingTrajectory_StaysCloseToManaged(string name, bool sgd)
    {
        var config = new RecurrentModelConfig(Variants.Parse(name), Input, Hidden, 1, Classes);
        using var managed = NewModel(config, seed: 21);
        IOptimizer optimizer = sgd
            ? new Sgd(managed.Parameters, lr: 0.1f, momentum: 0.9f, weightDecay: 1e-4f)
            : new Adam(managed.Parameters, lr: 0.01f, weightDecay: 1e-4f);
        using var gpu = new GpuRecurrentBatch(fixture.Device, config, 1);
        gpu.SetParameters(0, managed.Parameters);
        var settings = new OptimizerSettings(sgd ? 0.1f : 0.01f, WeightDecay: 1e-4f, Momentum: sgd ? 0.9f : 0f);
        if (sgd)
        {
            gpu.UseSgd([settings]);
        }
        else
        {
            gpu.UseAdam([settings]);
        }

        var logits = new float[Batch * Classes];
        var dLogits = new float[Batch * Classes];
        var loss = new float[1];
        for (int step = 0; step < 6; step++)
        {
            var (x, labels) = Data(seed: 100 + (ulong)step, runs: 1);
            managed.Forward(x, Batch, Steps, logits, training: true);
            float expectedLoss = Losses.SoftmaxCrossEntropy(logits, labels, Batch, Classes, dLogits);
            managed.Backward(dLogits);
            GradientClipping.ClipGlobalNorm(managed.Parameters, 0.5f);
            optimizer.Step();

            gpu.TrainStep(x, labels, Batch, Steps, clipNorm: 0.5f, loss);
            Assert.True(Math.Abs(expectedLoss - loss[0]) <= 1e-4, $"step {step}: loss {loss[0]} vs managed {expectedLoss}");
        }

        using var copy = new RecurrentModel(config);
        gpu.GetParameters(0, copy.Parameters);
        for (int p = 0; p < copy.Parameters.Count; p++)
        {
            AssertClose(managed.Parameters[p].Value, copy.Parameters[p].Value, 1e-4, managed.Parameters[p].Name);
        }
    }

    [Fact]
    public void EngineSeam_GpuNetwork_TrainsLikeManaged_WithHostOptimizer()
    {
        // Through IRecurrentNetwork as the runner uses it: ParameterInit draws into the host buffers, the host's Adam
        // updates them in place, and the next Forward must see the new values.
        var config = new RecurrentModelConfig(Variant.LstmFb1, Input, Hidden, 2, Classes);
        using var managed = NewModel(config, seed: 61);
        using var gpu = new GpuNetwork(fixture.Device, config);
        Assert.Equal("gpu", gpu.Engine);
        ForgetGate.Lab.Numerics.Engines.ParameterInit.Initialize(config, gpu.Parameters, new Rng(61), Steps);
        var adamManaged = new Adam(managed.Parameters, lr: 0.02f);
        var adamGpu = new Adam(gpu.Parameters, lr: 0.02f);
        var expected = new float[Batch * Classes];
        var actual = new float[Batch * Classes];
        var dLogits = new float[Batch * Classes];
        for (int step = 0; step < 3; step++)
        {
            var (x, labels) = Data(seed: 400 + (ulong)step, runs: 1);
            managed.Forward(x, Batch, Steps, expected, training: true);
            gpu.Forward(x, Batch, Steps, actual, training: true);
            AssertClose(expected, actual, 1e-4, $"logits at step {step}");
            Losses.SoftmaxCrossEntropy(expected, labels, Batch, Classes, dLogits);
            managed.Backward(dLogits);
            gpu.Backward(dLogits);
            for (int p = 0; p < gpu.Parameters.Count; p++)
            {
                AssertRelative(managed.Parameters[p].Gradient, gpu.Parameters[p].Gradient, 1e-3, managed.Parameters[p].Name);
            }

            adamManaged.Step();
            adamGpu.Step();
        }

        var bad = new float[Batch * Steps * Input];
        bad[7] = float.NaN;
        var e = Assert.Throws<ArgumentException>(() => gpu.Forward(bad, Batch, Steps, actual, training: false));
        Assert.Contains("step 1, feature 1", e.Message, StringComparison.Ordinal);
    }

    internal static RecurrentModel NewModel(RecurrentModelConfig config, ulong seed)
    {
        var model = new RecurrentModel(config);
        model.Initialize(new Rng(seed), Steps);
        return model;
    }

    /// <summary>Gaussian inputs [runs, B, T, D] and labels [runs, B].</summary>
    internal static (float[] X, int[] Labels) Data(ulong seed, int runs)
    {
        var rng = new Rng(seed);
        var x = new float[runs * Batch * Steps * Input];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)rng.NextGaussian();
        }

        var labels = new int[runs * Batch];
        for (int i = 0; i < labels.Length; i++)
        {
            labels[i] = rng.NextInt(Classes);
        }

        return (x, labels);
    }

    internal static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double diff = Math.Abs(expected[i] - actual[i]);
            Assert.True(diff <= tolerance, $"{what}[{i}]: {actual[i]} vs managed {expected[i]} (|Δ| = {diff:E2} > {tolerance:E0})");
        }
    }

    /// <summary>|a − e| ≤ tol·max(|e|, 1% of the tensor's largest |e|): relative, with a floor for near-zero entries.</summary>
    internal static void AssertRelative(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = 0;
        foreach (float e in expected)
        {
            scale = Math.Max(scale, Math.Abs(e));
        }

        Assert.True(scale > 0, $"{what}: the managed gradient is all zeros, so the comparison would prove nothing.");
        for (int i = 0; i < expected.Length; i++)
        {
            double diff = Math.Abs(expected[i] - actual[i]);
            double bound = tolerance * Math.Max(Math.Abs(expected[i]), 0.01 * scale);
            Assert.True(diff <= bound, $"{what}[{i}]: {actual[i]} vs managed {expected[i]} (|Δ| = {diff:E2} > {bound:E2})");
        }
    }
}
