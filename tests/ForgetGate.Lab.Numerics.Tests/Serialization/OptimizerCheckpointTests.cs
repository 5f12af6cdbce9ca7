using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Optim;
using ForgetGate.Lab.Numerics.Serialization;

namespace ForgetGate.Lab.Numerics.Tests.Serialization;

public sealed class OptimizerCheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fg-opt-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Parameter Make(string name, params float[] grad)
    {
        var p = new Parameter(name, 2, grad.Length / 2);
        grad.CopyTo(p.Gradient, 0);
        p.Value.AsSpan().Fill(0.5f);
        return p;
    }

    [Fact]
    public void SaveLoad_AdamMidTraining_ResumesBitIdentically()
    {
        var a = new[] { Make("rnn.weight_ih_l0", 0.1f, -0.2f, 0.3f, 0.05f), Make("head.bias", 1f, -1f) };
        var b = new[] { Make("rnn.weight_ih_l0", 0.1f, -0.2f, 0.3f, 0.05f), Make("head.bias", 1f, -1f) };
        var optA = new Adam(a, lr: 0.01f, weightDecay: 0.1f);
        optA.Step();
        optA.Step();
        var path = Path.Combine(_dir, "adam.safetensors");
        OptimizerCheckpoint.Save(path, optA.GetState());
        for (int i = 0; i < a.Length; i++)
        {
            a[i].Value.CopyTo(b[i].Value, 0);
        }

        var optB = new Adam(b, lr: 0.01f, weightDecay: 0.1f);
        optB.SetState(OptimizerCheckpoint.Load(path));
        optA.Step();
        optB.Step();
        for (int i = 0; i < a.Length; i++)
        {
            Assert.Equal(a[i].Value, b[i].Value);
        }

        Assert.Equal(3, optB.StepCount);
    }

    [Fact]
    public void Load_ModelCheckpointInsteadOfOptimizer_ThrowsNamingFile()
    {
        var path = Path.Combine(_dir, "model.safetensors");
        var config = new RecurrentModelConfig(Variant.Gru, 2, 3, 1, 2);
        ModelCheckpoint.Save(path, config, ModelCheckpoint.ExpectedTensors(config).Select(e => new Parameter(e.Name, e.Shape)).ToList());
        var ex = Assert.Throws<InvalidDataException>(() => OptimizerCheckpoint.Load(path));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("'optimizer'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SetState_SgdStateFileIntoAdam_Throws()
    {
        var p = Make("w", 1f, 2f);
        var sgd = new Sgd([p], lr: 0.1f, momentum: 0.5f);
        sgd.Step();
        var path = Path.Combine(_dir, "sgd.safetensors");
        OptimizerCheckpoint.Save(path, sgd.GetState());
        var state = OptimizerCheckpoint.Load(path);
        Assert.Equal("sgd", state.Kind);
        Assert.Throws<ArgumentException>(() => new Adam([p]).SetState(state));
        new Sgd([p], lr: 0.1f, momentum: 0.5f).SetState(state);
    }
}
