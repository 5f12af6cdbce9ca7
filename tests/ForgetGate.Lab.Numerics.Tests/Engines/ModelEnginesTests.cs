using ForgetGate.Lab.Numerics.Engines;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Random;
using ForgetGate.Lab.Numerics.Tests.Models;

namespace ForgetGate.Lab.Numerics.Tests.Engines;

/// <summary>The engine seam's catalog and the shared initialiser.</summary>
public sealed class ModelEnginesTests
{
    [Fact]
    public void Create_Managed_IsTheFusedModelWithItsName()
    {
        using var net = ModelEngines.Create("managed", new RecurrentModelConfig(Variant.Gru, 3, 5, 2, 4));
        Assert.IsType<RecurrentModel>(net);
        Assert.Equal("managed", net.Engine);
        Assert.Equal(ModelEngines.Default, net.Engine);
    }

    [Fact]
    public void Create_UnknownName_NamesTheChoices()
    {
        var e = Assert.Throws<EngineUnavailableException>(() => ModelEngines.Create("tensorflow", new RecurrentModelConfig(Variant.Lstm, 3, 5, 1, 4)));
        Assert.Contains("'tensorflow'", e.Message, StringComparison.Ordinal);
        Assert.Contains("managed, torch", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Register_NameOutsideTheKnownList_IsRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => ModelEngines.Register(new NamedEngine("jax")));
        Assert.Contains("'jax'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Variant.Lstm)]
    [InlineData(Variant.LstmFb1)]
    [InlineData(Variant.Chrono)]
    [InlineData(Variant.UrLstm)]
    [InlineData(Variant.Gru)]
    [InlineData(Variant.Cifg)]
    public void Initialize_OnPlainBuffers_DrawsWhatTheModelDraws(Variant variant)
    {
        // An engine that is not RecurrentModel initialises buffers of the same names and shapes through ParameterInit:
        // the values must be the managed model's bit for bit (the "same start" of every engine).
        var config = new RecurrentModelConfig(variant, 7, 9, 2, 3);
        using var model = new RecurrentModel(config);
        model.Initialize(new Rng(ModelTestData.Seed).Split("init"), 28);
        var buffers = model.Parameters.Select(p => new Parameter(p.Name, [.. p.Shape])).ToArray();
        ParameterInit.Initialize(config, buffers, new Rng(ModelTestData.Seed).Split("init"), 28);
        for (int i = 0; i < buffers.Length; i++)
        {
            Assert.Equal(model.Parameters[i].Value, buffers[i].Value);
        }

        Assert.Contains(model.Parameters, p => p.Value.Any(v => v != 0f));
    }

    [Fact]
    public void Find_UnknownName_ListsKnownNames()
    {
        using var model = new RecurrentModel(new RecurrentModelConfig(Variant.Lstm, 2, 3, 1, 2));
        var e = Assert.Throws<ArgumentException>(() => ParameterInit.Find(model.Parameters, "rnn.forget_bias_l0"));
        Assert.Contains("head.bias", e.Message, StringComparison.Ordinal);
    }

    private sealed class NamedEngine(string name) : IModelEngine
    {
        public string Name => name;

        public IRecurrentNetwork Create(RecurrentModelConfig config, ForgetGate.Lab.Numerics.Threading.ComputePool pool) => throw new NotSupportedException();
    }
}
