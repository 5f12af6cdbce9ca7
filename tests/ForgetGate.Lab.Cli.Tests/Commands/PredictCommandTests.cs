using System.CommandLine;
using ForgetGate.Lab.Cli.Commands;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Random;
using ForgetGate.Lab.Numerics.Serialization;

namespace ForgetGate.Lab.Cli.Tests.Commands;

public sealed class PredictCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fg-predict-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Golden(string name) => Path.Combine(AppContext.BaseDirectory, "golden", name);

    private static (int Code, string Out, string Err) Invoke(params string[] args)
    {
        var root = new RootCommand { PredictCommand.Create() };
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var config = new InvocationConfiguration { Output = stdout, Error = stderr };
        int code = root.Parse(args).Invoke(config);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Theory]
    [InlineData("lstm", 1, "256")]
    [InlineData("gru", 2, "2")] // batch 2 over N = 3: a full and a partial batch
    [InlineData("ur-lstm", 1, "3")]
    [InlineData("cifg", 2, "1")]
    public void Predict_PyTorchCheckpoint_WritesPyTorchLogits(string variant, int layers, string batchSize)
    {
        var output = Path.Combine(_dir, "y.safetensors");
        var (code, stdout, stderr) = Invoke(
            "predict",
            "--checkpoint", Golden($"ckpt_{variant}_l{layers}.safetensors"),
            "--input", Golden($"golden_{variant}_l{layers}.safetensors"),
            "--output", output,
            "--batch-size", batchSize);
        Assert.True(code == 0, stderr);
        Assert.Contains("wrote logits", stdout, StringComparison.Ordinal);

        var expected = SafetensorsFile.Read(Golden($"golden_{variant}_l{layers}.safetensors")).Get("logits");
        var actual = SafetensorsFile.Read(output).GetFloat32("logits", [.. expected.Shape]);
        // Float32 forward only (no backward): PyTorch vs our engine differ by ≲ 1e-7 relative (measured
        // float64-reference vs PyTorch); 1e-5 × max|logit| is the engine-wide float32 golden tolerance.
        var e = expected.AsFloat32();
        double scale = Math.Max(1e-6, e.Max(Math.Abs));
        for (int i = 0; i < e.Length; i++)
        {
            Assert.True(Math.Abs(actual[i] - e[i]) <= 1e-5 * scale, $"logit {i}: {actual[i]} vs PyTorch {e[i]}");
        }
    }

    [Theory]
    [InlineData(Variant.Lstm)]
    [InlineData(Variant.Gru)]
    [InlineData(Variant.UrLstm)]
    public void Predict_TwoThreads_BitIdenticalToOneThread(Variant variant)
    {
        // DESIGN.md §3: work is split by output tiles, never the reduction, so thread count cannot change
        // results. H = 50 spans several 16-unit tiles so both workers really compute.
        var ckpt = Path.Combine(_dir, "c.safetensors");
        var input = Path.Combine(_dir, "x.safetensors");
        using (var model = new RecurrentModel(new RecurrentModelConfig(variant, 9, 50, 2, 5)))
        {
            model.Initialize(new Rng(11), 6);
            ModelCheckpoint.Save(model, ckpt);
        }

        var x = new float[37 * 6 * 9];
        new Rng(12).FillUniform(x, -1f, 1f);
        new SafetensorsFile([SafetensorsTensor.FromFloat32("input", [37, 6, 9], x)]).Write(input);
        var one = Path.Combine(_dir, "one.safetensors");
        var two = Path.Combine(_dir, "two.safetensors");
        Assert.Equal(0, Invoke("predict", "--checkpoint", ckpt, "--input", input, "--output", one, "--batch-size", "16").Code);
        Assert.Equal(0, Invoke("predict", "--checkpoint", ckpt, "--input", input, "--output", two, "--batch-size", "16", "--threads", "2").Code);
        var a = SafetensorsFile.Read(one).GetFloat32("logits", 37, 5);
        Assert.Contains(a, v => v != 0f);
        Assert.Equal(a, SafetensorsFile.Read(two).GetFloat32("logits", 37, 5));
    }

    [Fact]
    public void Predict_ZeroBatchSize_ExitsTwo()
    {
        var (code, _, stderr) = Invoke("predict", "--checkpoint", Golden("ckpt_lstm_l1.safetensors"), "--input", Golden("golden_lstm_l1.safetensors"), "--output", Path.Combine(_dir, "y.safetensors"), "--batch-size", "0");
        Assert.Equal(2, code);
        Assert.Contains("--batch-size (0)", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Predict_MissingCheckpoint_ExitsTwoNamingFile()
    {
        var missing = Path.Combine(_dir, "nope.safetensors");
        var (code, _, stderr) = Invoke("predict", "--checkpoint", missing, "--input", Golden("golden_lstm_l1.safetensors"), "--output", Path.Combine(_dir, "y.safetensors"));
        Assert.Equal(2, code);
        Assert.Contains(missing, stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_dir, "y.safetensors")));
    }

    [Fact]
    public void Predict_InputFeatureMismatch_ExitsTwoNamingFileAndSizes()
    {
        // golden_lstm_l2 has input_size 4; ckpt_lstm_l1 expects 7.
        var input = Golden("golden_lstm_l2.safetensors");
        var (code, _, stderr) = Invoke("predict", "--checkpoint", Golden("ckpt_lstm_l1.safetensors"), "--input", input, "--output", Path.Combine(_dir, "y.safetensors"));
        Assert.Equal(2, code);
        Assert.Contains(input, stderr, StringComparison.Ordinal);
        Assert.Contains("expects input_size 7", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Predict_NonFiniteInput_ExitsTwoNamingPosition()
    {
        var input = Path.Combine(_dir, "x.safetensors");
        var x = new float[2 * 3 * 7];
        x[(1 * 21) + (2 * 7) + 5] = float.PositiveInfinity;
        new SafetensorsFile([SafetensorsTensor.FromFloat32("input", [2, 3, 7], x)]).Write(input);
        var (code, _, stderr) = Invoke("predict", "--checkpoint", Golden("ckpt_lstm_l1.safetensors"), "--input", input, "--output", Path.Combine(_dir, "y.safetensors"));
        Assert.Equal(2, code);
        Assert.Contains("[1, 2, 5]", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Predict_InputWithoutInputTensor_ExitsTwo()
    {
        var input = Path.Combine(_dir, "x.safetensors");
        new SafetensorsFile([SafetensorsTensor.FromFloat32("x", [1, 1, 7], new float[7])]).Write(input);
        var (code, _, stderr) = Invoke("predict", "--checkpoint", Golden("ckpt_lstm_l1.safetensors"), "--input", input, "--output", Path.Combine(_dir, "y.safetensors"));
        Assert.Equal(2, code);
        Assert.Contains("no tensor named 'input'", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Predict_CorruptCheckpoint_ExitsTwo()
    {
        var ckpt = Path.Combine(_dir, "c.safetensors");
        File.WriteAllBytes(ckpt, File.ReadAllBytes(Golden("ckpt_lstm_l1.safetensors"))[..100]);
        var (code, _, stderr) = Invoke("predict", "--checkpoint", ckpt, "--input", Golden("golden_lstm_l1.safetensors"), "--output", Path.Combine(_dir, "y.safetensors"));
        Assert.Equal(2, code);
        Assert.Contains(ckpt, stderr, StringComparison.Ordinal);
    }
}
