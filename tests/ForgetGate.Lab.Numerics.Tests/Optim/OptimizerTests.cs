using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Optim;

namespace ForgetGate.Lab.Numerics.Tests.Optim;

public sealed class OptimizerTests
{
    private static Parameter Make(string name, float[] value, float[] grad)
    {
        var p = new Parameter(name, value.Length);
        value.CopyTo(p.Value, 0);
        grad.CopyTo(p.Gradient, 0);
        return p;
    }

    [Fact]
    public void AdamStep_FirstStep_MovesEachWeightByLrTimesSignOfGradient()
    {
        // After one step m̂ = g and √v̂ = |g|, so the update is lr·g/(|g| + eps) ≈ lr·sign(g) (relative 1e-6 for |g| ≥ 0.01).
        var p = Make("w", [1f, -2f, 0.5f], [0.3f, -0.01f, 4f]);
        var adam = new Adam([p], lr: 0.1f);
        adam.Step();
        Assert.Equal(0.9f, p.Value[0], 1e-6f);
        Assert.Equal(-1.9f, p.Value[1], 1e-5f);
        Assert.Equal(0.4f, p.Value[2], 1e-6f);
    }

    [Fact]
    public void AdamStep_WeightDecay_IsAddedToGradient()
    {
        // g + wd·p = 0 exactly, so m = v = 0 and the weight stays put (the update is 0/(0+eps)).
        var p = Make("w", [2f], [-0.2f]);
        var adam = new Adam([p], lr: 0.1f, weightDecay: 0.1f);
        adam.Step();
        Assert.Equal(2f, p.Value[0]);
    }

    [Fact]
    public void SgdStep_Momentum_FirstBufferIsGradientThenAccumulates()
    {
        var p = Make("w", [1f], [0.5f]);
        var sgd = new Sgd([p], lr: 0.1f, momentum: 0.9f, dampening: 0.5f);
        sgd.Step(); // buf = 0.5 (no dampening on the first step), p = 1 - 0.05
        Assert.Equal(0.95f, p.Value[0], 1e-7f);
        sgd.Step(); // buf = 0.9·0.5 + 0.5·0.5 = 0.7, p = 0.95 - 0.07
        Assert.Equal(0.88f, p.Value[0], 1e-6f);
    }

    [Fact]
    public void AdamSetState_RoundTrip_ContinuesIdentically()
    {
        var a = Make("w", [1f, 2f], [0.1f, -0.3f]);
        var b = Make("w", [1f, 2f], [0.1f, -0.3f]);
        var optA = new Adam([a], lr: 0.01f);
        optA.Step();
        var optB = new Adam([b], lr: 0.01f);
        b.Value[0] = a.Value[0];
        b.Value[1] = a.Value[1];
        optB.SetState(optA.GetState());
        optA.Step();
        optB.Step();
        Assert.Equal(a.Value, b.Value);
        Assert.Equal(2, optB.StepCount);
    }

    [Fact]
    public void AdamSetState_MissingBuffer_ThrowsNamingItAndLeavesStateUntouched()
    {
        var p = Make("w", [1f], [1f]);
        var adam = new Adam([p]);
        adam.Step();
        var before = adam.GetState();
        var bad = new OptimizerState("adam", 7, new Dictionary<string, float[]> { ["exp_avg/w"] = [3f] });
        var ex = Assert.Throws<ArgumentException>(() => adam.SetState(bad));
        Assert.Contains("exp_avg_sq/w", ex.Message, StringComparison.Ordinal);
        Assert.Equal(before.Buffers["exp_avg/w"], adam.GetState().Buffers["exp_avg/w"]);
        Assert.Equal(1, adam.StepCount);
    }

    [Fact]
    public void SgdSetState_AdamState_Throws()
    {
        var p = Make("w", [1f], [1f]);
        var sgd = new Sgd([p], lr: 0.1f, momentum: 0.9f);
        Assert.Throws<ArgumentException>(() => sgd.SetState(new Adam([p]).GetState()));
    }

    [Fact]
    public void ClipGlobalNorm_AboveMax_ScalesToMaxAndReturnsNorm()
    {
        var a = Make("a", [0f, 0f], [3f, 0f]);
        var b = Make("b", [0f], [4f]);
        float norm = GradientClipping.ClipGlobalNorm([a, b], 1f);
        Assert.Equal(5f, norm, 1e-6f);
        Assert.Equal(0.6f, a.Gradient[0], 1e-6f);
        Assert.Equal(0.8f, b.Gradient[0], 1e-6f);
    }

    [Fact]
    public void ClipGlobalNorm_BelowMax_LeavesGradientsUnchanged()
    {
        var a = Make("a", [0f], [0.3f]);
        float norm = GradientClipping.ClipGlobalNorm([a], 1f);
        Assert.Equal(0.3f, norm, 1e-7f);
        Assert.Equal(0.3f, a.Gradient[0]);
    }

    [Fact]
    public void Step_AfterWarmUp_AllocatesNothing()
    {
        var ps = new List<Parameter> { Make("a", new float[300], new float[300]), Make("b", new float[7], new float[7]) };
        ps[0].Gradient.AsSpan().Fill(0.1f);
        ps[1].Gradient.AsSpan().Fill(-0.2f);
        IOptimizer[] optimizers = [new Adam(ps, weightDecay: 0.1f), new Sgd(ps, lr: 0.1f, momentum: 0.9f, nesterov: true), new Sgd(ps, lr: 0.1f)];
        float[] logits = [0.5f, -1f, 2f, 0f, 0.25f, 1f];
        var dLogits = new float[6];
        int[] labels = [2, 0];
        int[] allowed = [0, 2];
        foreach (var opt in optimizers)
        {
            // Warm-up: the first calls JIT-compile (which allocates); later calls must not.
            for (int i = 0; i < 2; i++)
            {
                opt.Step();
                GradientClipping.ClipGlobalNorm(ps, 0.01f);
                ForgetGate.Lab.Numerics.Losses.Losses.SoftmaxCrossEntropy(logits, labels, 2, 3, dLogits, allowed);
                ForgetGate.Lab.Numerics.Losses.Losses.MeanSquaredError(logits, dLogits, dLogits);
            }

            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 10; i++)
            {
                opt.Step();
                GradientClipping.ClipGlobalNorm(ps, 0.01f);
                ForgetGate.Lab.Numerics.Losses.Losses.SoftmaxCrossEntropy(logits, labels, 2, 3, dLogits, allowed);
                ForgetGate.Lab.Numerics.Losses.Losses.MeanSquaredError(logits, dLogits, dLogits);
            }

            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        }
    }
}
