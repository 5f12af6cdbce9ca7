using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Random;
using ForgetGate.Lab.Numerics.Serialization;

namespace ForgetGate.Lab.Numerics.Tests.Serialization;

public sealed class ModelCheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fg-ckpt-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static List<Parameter> MakeParameters(RecurrentModelConfig config, ulong seed)
    {
        var rng = new Rng(seed);
        var list = new List<Parameter>();
        foreach (var (name, shape) in ModelCheckpoint.ExpectedTensors(config))
        {
            var p = new Parameter(name, shape);
            rng.FillUniform(p.Value, -1f, 1f);
            list.Add(p);
        }

        return list;
    }

    private string Path1 => Path.Combine(_dir, "model.safetensors");

    private void WriteTensors(IReadOnlyDictionary<string, string> metadata, IEnumerable<SafetensorsTensor> tensors) =>
        new SafetensorsFile(tensors, metadata).Write(Path1);

    private static List<SafetensorsTensor> Tensors(List<Parameter> ps) =>
        ps.Select(p => SafetensorsTensor.FromFloat32(p.Name, [.. p.Shape], p.Value)).ToList();

    private void AssertRejected(string fragment)
    {
        var ex = Assert.Throws<InvalidDataException>(() => ModelCheckpoint.Read(Path1));
        Assert.Contains(Path1, ex.Message, StringComparison.Ordinal);
        Assert.Contains(fragment, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ExpectedTensors_UrLstmTwoLayers_PyTorchStateDictOrderAndShapes()
    {
        var names = ModelCheckpoint.ExpectedTensors(new RecurrentModelConfig(Variant.UrLstm, 7, 5, 2, 3));
        Assert.Equal(
            ["rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0", "rnn.forget_bias_l0",
             "rnn.weight_ih_l1", "rnn.weight_hh_l1", "rnn.bias_ih_l1", "rnn.bias_hh_l1", "rnn.forget_bias_l1", "head.weight", "head.bias"],
            names.Select(n => n.Name));
        Assert.Equal([20, 7], names[0].Shape);
        Assert.Equal([20, 5], names[5].Shape);
        Assert.Equal([3, 5], names[10].Shape);
    }

    [Theory]
    [InlineData(Variant.Lstm)]
    [InlineData(Variant.Gru)]
    [InlineData(Variant.UrLstm)]
    [InlineData(Variant.Cifg)]
    public void SaveRead_RoundTrip_SameConfigValuesAndExtraMetadata(Variant variant)
    {
        var config = new RecurrentModelConfig(variant, 7, 13, 2, 3);
        var ps = MakeParameters(config, 5);
        ModelCheckpoint.Save(Path1, config, ps, new Dictionary<string, string> { ["task"] = "2" });
        var data = ModelCheckpoint.Read(Path1);
        Assert.Equal(config, data.Config);
        Assert.Equal("2", data.ExtraMetadata["task"]);
        var copy = MakeParameters(config, 6);
        data.CopyTo(copy);
        for (int i = 0; i < ps.Count; i++)
        {
            Assert.Equal(ps[i].Value, copy[i].Value);
        }
    }

    [Fact]
    public void Save_ReservedExtraMetadata_Throws()
    {
        var config = new RecurrentModelConfig(Variant.Lstm, 2, 3, 1, 2);
        Assert.Throws<ArgumentException>(() => ModelCheckpoint.Save(Path1, config, MakeParameters(config, 1), new Dictionary<string, string> { ["hidden"] = "9" }));
        Assert.False(File.Exists(Path1));
    }

    [Fact]
    public void Read_MissingTensor_ThrowsNamingIt()
    {
        var config = new RecurrentModelConfig(Variant.Lstm, 2, 3, 2, 2);
        var ts = Tensors(MakeParameters(config, 1));
        ts.RemoveAll(t => t.Name == "rnn.bias_hh_l1");
        WriteTensors(ModelCheckpoint.ConfigMetadata(config), ts);
        AssertRejected("missing tensor 'rnn.bias_hh_l1'");
    }

    [Fact]
    public void Read_WrongName_ThrowsNamingUnknownTensor()
    {
        var config = new RecurrentModelConfig(Variant.Lstm, 2, 3, 1, 2);
        var ts = Tensors(MakeParameters(config, 1));
        ts.Add(SafetensorsTensor.FromFloat32("rnn.weight_ih_l1", [12, 3], new float[36]));
        WriteTensors(ModelCheckpoint.ConfigMetadata(config), ts);
        AssertRejected("unknown tensor 'rnn.weight_ih_l1'");
    }

    [Fact]
    public void Read_WrongShape_ThrowsNamingTensorAndShapes()
    {
        var config = new RecurrentModelConfig(Variant.Gru, 2, 3, 1, 2);
        var ts = Tensors(MakeParameters(config, 1));
        int i = ts.FindIndex(t => t.Name == "rnn.weight_hh_l0");
        ts[i] = SafetensorsTensor.FromFloat32("rnn.weight_hh_l0", [3, 9], new float[27]); // transposed
        WriteTensors(ModelCheckpoint.ConfigMetadata(config), ts);
        AssertRejected("'rnn.weight_hh_l0' has shape [3, 9]; expected [9, 3]");
    }

    [Fact]
    public void Read_WrongDType_Throws()
    {
        var config = new RecurrentModelConfig(Variant.Lstm, 2, 3, 1, 2);
        var ts = Tensors(MakeParameters(config, 1));
        ts[^1] = SafetensorsTensor.FromFloat64("head.bias", [2], [0.5, 0.25]);
        WriteTensors(ModelCheckpoint.ConfigMetadata(config), ts);
        AssertRejected("'head.bias' has dtype F64; expected F32");
    }

    [Fact]
    public void Read_NonFiniteWeight_Throws()
    {
        var config = new RecurrentModelConfig(Variant.Lstm, 2, 3, 1, 2);
        var ps = MakeParameters(config, 1);
        ps[2].Value[4] = float.NaN;
        ModelCheckpoint.Save(Path1, config, ps);
        AssertRejected("'rnn.bias_ih_l0' element 4 is NaN");
    }

    [Fact]
    public void Read_MissingOrBadMetadata_Throws()
    {
        var config = new RecurrentModelConfig(Variant.Lstm, 2, 3, 1, 2);
        var md = ModelCheckpoint.ConfigMetadata(config);
        md.Remove("hidden");
        WriteTensors(md, Tensors(MakeParameters(config, 1)));
        AssertRejected("no 'hidden' field");

        md = ModelCheckpoint.ConfigMetadata(config);
        md["variant"] = "transformer";
        WriteTensors(md, Tensors(MakeParameters(config, 1)));
        AssertRejected("'variant' is 'transformer'");

        md = ModelCheckpoint.ConfigMetadata(config);
        md["layers"] = "0";
        WriteTensors(md, Tensors(MakeParameters(config, 1)));
        AssertRejected("'layers' is '0'");
    }

    [Fact]
    public void Read_TruncatedCheckpoint_Throws()
    {
        var config = new RecurrentModelConfig(Variant.Cifg, 2, 3, 1, 2);
        ModelCheckpoint.Save(Path1, config, MakeParameters(config, 1));
        var bytes = File.ReadAllBytes(Path1);
        File.WriteAllBytes(Path1, bytes[..(bytes.Length / 2)]);
        AssertRejected("truncated");
    }

    [Fact]
    public void CopyTo_MismatchedModel_ThrowsBeforeCopyingAnything()
    {
        var config = new RecurrentModelConfig(Variant.Lstm, 2, 3, 1, 2);
        ModelCheckpoint.Save(Path1, config, MakeParameters(config, 1));
        var data = ModelCheckpoint.Read(Path1);
        var other = MakeParameters(config with { Outputs = 4 }, 2);
        var before = other.Select(p => (float[])p.Value.Clone()).ToList();
        Assert.Throws<ArgumentException>(() => data.CopyTo(other));
        for (int i = 0; i < other.Count; i++)
        {
            Assert.Equal(before[i], other[i].Value);
        }
    }
}
