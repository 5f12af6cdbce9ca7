using System.Diagnostics;
using ForgetGate.Lab.Cli.Tests.Support;
using ForgetGate.Lab.Numerics.Random;
using ForgetGate.Lab.Numerics.Serialization;

namespace ForgetGate.Lab.Cli.Tests.Commands;

/// <summary>
/// Every checkpoint a run writes is a model file: PyTorch 1.13's own nn.LSTM / nn.GRU load it strictly and give the
/// logits <c>forgetgate predict</c> gives; <c>forgetgate model RUN</c> extracts the final model. Through the real process.
/// </summary>
public sealed class RunCheckpointModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fg-ckpt-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string s_script = Path.Combine(AppContext.BaseDirectory, "Torch", "load_run_checkpoint.py");

    private CliProcess.Result Forgetgate(params string[] args) => CliProcess.Run(_dir, null, args);

    [Fact]
    public void RunCheckpoints_LoadStrictlyIntoPyTorch_AndPredictAndModelAgreeWithIt()
    {
        string spec = Path.Combine(_dir, "ckpt.yaml");
        File.WriteAllText(spec, """
            name: ckpt
            scenario:
              kind: permuted
              tasks: 2
              train_per_task: 200
              test_per_task: 100
            model:
              variant: [lstm, gru]
              hidden: 12
              layers: 2
            training:
              batch_size: 50
            strategy:
              kind: ewc
              fisher_samples: 20
            """);
        var run = Forgetgate("run", spec, "--threads", "1");
        Assert.True(run.Code == 0, run.ToString());

        // A fixed input [5, 28, 28] for both sides.
        var rng = new Rng(12);
        var x = new float[5 * 28 * 28];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)rng.NextDouble();
        }

        string input = Path.Combine(_dir, "x.safetensors");
        new SafetensorsFile([SafetensorsTensor.FromFloat32("input", [5, 28, 28], x)]).Write(input);

        foreach (var (id, variant, gates) in new[] { (1, "lstm", 4), (2, "gru", 3) })
        {
            string checkpoint = Path.Combine(_dir, "results", "checkpoints", $"run-00000{id}", "t002-e000-b00000.safetensors");
            var file = SafetensorsFile.Read(checkpoint);
            Assert.Equal([gates * 12, 28], file.Get("rnn.weight_ih_l0").Shape);
            Assert.Equal([gates * 12, 12], file.Get("rnn.weight_ih_l1").Shape);
            Assert.Equal([10, 12], file.Get("head.weight").Shape);
            Assert.Equal([gates * 12, 12], file.Get("optim.exp_avg/rnn.weight_hh_l1").Shape);
            Assert.Equal([10, 12], file.Get("ewc.fisher.head.weight").Shape);
            foreach (var (key, value) in new[] { ("variant", variant), ("input_size", "28"), ("hidden", "12"), ("layers", "2"), ("outputs", "10"), ("format", "pt") })
            {
                Assert.Equal(value, file.Metadata[key]);
            }

            // PyTorch's own modules, strict: a missing, unexpected or misshapen tensor raises.
            string torchOut = Path.Combine(_dir, $"torch{id}.safetensors");
            var (code, stdout, stderr) = Python(s_script, checkpoint, input, torchOut);
            Assert.True(code == 0, stdout + stderr);
            Assert.Contains($"loaded {variant} strict; 10 model tensors", stdout, StringComparison.Ordinal);

            string ours = Path.Combine(_dir, $"ours{id}.safetensors");
            var predict = Forgetgate("predict", "--checkpoint", checkpoint, "--input", input, "--output", ours);
            Assert.True(predict.Code == 0, predict.ToString());
            var expected = SafetensorsFile.Read(torchOut).GetFloat32("logits", 5, 10);
            var actual = SafetensorsFile.Read(ours).GetFloat32("logits", 5, 10);
            // Float32 forward only: the engine-wide float32 golden tolerance, 1e-5 × max|logit| (see PredictCommandTests).
            double scale = Math.Max(1e-6, expected.Max(Math.Abs));
            for (int i = 0; i < expected.Length; i++)
            {
                Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-5 * scale, $"{variant} logit {i}: {actual[i]} vs PyTorch {expected[i]}");
            }

            // The final model of the run as a plain model file: same logits, bit for bit.
            string model = Path.Combine(_dir, $"model{id}.safetensors");
            var extract = Forgetgate("model", id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--out", model);
            Assert.True(extract.Code == 0, extract.ToString());
            Assert.StartsWith($"wrote the model of run {id} ({variant}, succeeded, after task 2 of 2) to {model}", extract.Out, StringComparison.Ordinal);
            var modelFile = SafetensorsFile.Read(model);
            Assert.Equal(10, modelFile.Tensors.Count);
            Assert.Equal("ckpt", modelFile.Metadata["sweep"]);
            Assert.Contains("\"variant\":\"" + variant + "\"", modelFile.Metadata["config"], StringComparison.Ordinal);
            string fromModel = Path.Combine(_dir, $"model-logits{id}.safetensors");
            Assert.Equal(0, Forgetgate("predict", "--checkpoint", model, "--input", input, "--output", fromModel).Code);
            Assert.Equal(actual, SafetensorsFile.Read(fromModel).GetFloat32("logits", 5, 10));
            if (id == 1)
            {
                Assert.True(Python(s_script, model, input, torchOut).Code == 0, "the extracted model loads strictly too");
            }
        }

        // Without --out the model goes beside the sweep's report.
        var byDefault = Forgetgate("model", "1");
        Assert.True(byDefault.Code == 0, byDefault.ToString());
        Assert.True(File.Exists(Path.Combine(_dir, "results", "ckpt", "model-run-1.safetensors")));

        var unknown = Forgetgate("model", "9");
        Assert.Equal(2, unknown.Code);
        Assert.Equal("forgetgate model: no run 9 in " + Path.Combine(_dir, "results", "forgetgate.db") + "; 'forgetgate status SWEEP' and runs.csv list them.", unknown.ErrLines.Single());

        File.Delete(Path.Combine(_dir, "results", "checkpoints", "run-000002", "t002-e000-b00000.safetensors"));
        var missing = Forgetgate("model", "2", "--out", Path.Combine(_dir, "gone.safetensors"));
        Assert.Equal(3, missing.Code);
        Assert.Contains("run 2's checkpoint '", missing.ErrLines.Single(), StringComparison.Ordinal);
        Assert.Contains("is not on this machine", missing.Err, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_dir, "gone.safetensors")));
    }

    /// <summary>Debian's PyTorch 1.13 (<c>python3-torch</c>, which <c>.ci/run</c> installs), not a pyenv python on PATH.</summary>
    private static (int Code, string Out, string Err) Python(params string[] args)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(120_000), "python did not finish in 120 s");
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
