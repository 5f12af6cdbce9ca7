using ForgetGate.Lab.Cli.Tests.Support;
using ForgetGate.Lab.Numerics.Random;
using ForgetGate.Lab.Numerics.Serialization;

namespace ForgetGate.Lab.Cli.Tests.Commands;

/// <summary>
/// Cell files through the real <c>forgetgate</c> process: <c>init</c> writes a model's initial checkpoint (§4b layout,
/// definition in the metadata); <c>predict</c>, <c>model</c> and <c>reproduce</c> of a cell run need only the checkpoint
/// or the stored config (the cell files are deleted before they run); <c>reproduce</c> takes a run checkpoint file.
/// </summary>
public sealed class CellCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fg-cellcmd-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private CliProcess.Result Forgetgate(params string[] args) => CliProcess.Run(_dir, null, args);

    private static string RepositoryFile(string relative)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "ForgetGate.Lab.sln")))
        {
            dir = dir.Parent;
        }

        return Path.Combine(dir!.FullName, relative);
    }

    private void CopyShippedCells(params string[] names)
    {
        Directory.CreateDirectory(Path.Combine(_dir, "experiments", "cells"));
        foreach (string name in names)
        {
            File.Copy(RepositoryFile($"experiments/cells/{name}.yaml"), Path.Combine(_dir, "experiments", "cells", name + ".yaml"));
        }
    }

    [Fact]
    public void Init_WritesTheInitialModel_InTheCellLayoutWithItsDefinition()
    {
        CopyShippedCells("lstm-generic", "minlstm", "slstm");
        string lstm = Path.Combine(_dir, "lstm.safetensors"), generic = Path.Combine(_dir, "generic.safetensors");
        var a = Forgetgate("init", "--variant", "lstm", "--hidden", "13", "--layers", "2", "--input-size", "7", "--outputs", "3", "--seed", "5", "--out", lstm);
        Assert.True(a.Code == 0, a.ToString());
        Assert.Equal($"wrote the initial lstm model (H=13, layers=2, D=7, C=3, seed 5, 2642 parameters in 10 tensors) to {lstm}", a.Out.TrimEnd());
        var b = Forgetgate("init", "--variant", "lstm-generic", "--hidden", "13", "--layers", "2", "--input-size", "7", "--outputs", "3", "--seed", "5", "--out", generic);
        Assert.True(b.Code == 0, b.ToString());

        // lstm-generic is the built-in lstm as a file: same seed, same tensors, same values; its metadata carries the cell.
        var builtIn = SafetensorsFile.Read(lstm);
        var cell = SafetensorsFile.Read(generic);
        Assert.Equal(builtIn.Tensors.Select(t => t.Name), cell.Tensors.Select(t => t.Name));
        foreach (var t in builtIn.Tensors)
        {
            Assert.Equal(t.Shape, cell.Get(t.Name).Shape);
            Assert.Equal(t.AsFloat32(), cell.Get(t.Name).AsFloat32());
        }

        Assert.False(builtIn.Metadata.ContainsKey("cell"));
        Assert.Contains("\"step\":\"f_ = sigmoid(f)\\nc' = f_ * c + sigmoid(i) * tanh(g)", cell.Metadata["cell"], StringComparison.Ordinal);
        Assert.Equal(("lstm-generic", "5"), (cell.Metadata["variant"], cell.Metadata["seed"]));

        // minlstm by path, all blocks input-only: no weight_hh/bias_hh; slstm's f block starts at linspace(3, 6).
        string min = Path.Combine(_dir, "min.safetensors"), sl = Path.Combine(_dir, "sl.safetensors");
        Assert.Equal(0, Forgetgate("init", "--variant", "experiments/cells/minlstm.yaml", "--hidden", "5", "--out", min).Code);
        var minFile = SafetensorsFile.Read(min);
        Assert.Equal(["rnn.weight_ih_l0", "rnn.bias_ih_l0", "head.weight", "head.bias"], minFile.Tensors.Select(t => t.Name));
        Assert.Equal([15, 28], minFile.Get("rnn.weight_ih_l0").Shape);
        Assert.Equal(0, Forgetgate("init", "--variant", "slstm", "--hidden", "4", "--out", sl).Code);
        Assert.Equal([3f, 4f, 5f, 6f], SafetensorsFile.Read(sl).GetFloat32("rnn.bias_ih_l0")[4..8]);

        // --init linear (a spec's model.init): input side from 1/√D, no hidden-side bias; the cell's own init on top.
        string linear = Path.Combine(_dir, "linear.safetensors");
        Assert.Equal(0, Forgetgate("init", "--variant", "slstm", "--hidden", "4", "--init", "linear", "--out", linear).Code);
        var linearFile = SafetensorsFile.Read(linear);
        Assert.All(linearFile.GetFloat32("rnn.bias_hh_l0"), v => Assert.Equal(0f, v));
        Assert.All(linearFile.GetFloat32("rnn.weight_ih_l0"), v => Assert.InRange(Math.Abs(v), 0f, 1f / MathF.Sqrt(28)));
        Assert.Equal([3f, 4f, 5f, 6f], linearFile.GetFloat32("rnn.bias_ih_l0")[4..8]);
        Assert.Equal("linear", linearFile.Metadata["init"]);

        // The file is a model file: predict loads it from the metadata alone (no cell folder needed).
        Directory.Delete(Path.Combine(_dir, "experiments"), recursive: true);
        string input = WriteInput(2, 3, 28);
        string logits = Path.Combine(_dir, "y.safetensors");
        var predict = Forgetgate("predict", "--checkpoint", sl, "--input", input, "--output", logits);
        Assert.True(predict.Code == 0, predict.ToString());
        Assert.Equal([2, 10], SafetensorsFile.Read(logits).Get("logits").Shape);
    }

    [Theory]
    [InlineData(new[] { "--variant", "lstm", "--hidden", "0" }, "forgetgate init: --hidden must be at least 1 (got 0).")]
    [InlineData(new[] { "--variant", "lstm", "--hidden", "4", "--layers", "-1" }, "forgetgate init: --layers must be at least 1 (got -1).")]
    [InlineData(new[] { "--variant", "nosuch", "--hidden", "4" }, "forgetgate init: --variant: 'nosuch' is neither a built-in variant (lstm, lstm-fb1, cifg, gru, ur-lstm, chrono) nor a cell in {cells}; a cell file can also be given by its path.")]
    [InlineData(new[] { "--variant", "gone/x.yaml", "--hidden", "4" }, "forgetgate init: --variant: cell file '{dir}/gone/x.yaml' does not exist.")]
    public void Init_BadValues_OneSentenceExit2_AndNoFile(string[] args, string expected)
    {
        string output = Path.Combine(_dir, "out.safetensors");
        var r = Forgetgate([.. "init".Split(' '), .. args, "--out", output]);
        Assert.Equal(2, r.Code);
        Assert.Equal(expected.Replace("{cells}", Path.Combine(_dir, "experiments", "cells"), StringComparison.Ordinal).Replace("{dir}", _dir, StringComparison.Ordinal), r.ErrLines.Single());
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void Init_CellWithProblems_NamesEveryProblemWithLineAndColumn()
    {
        string bad = Path.Combine(_dir, "bad.yaml");
        File.WriteAllText(bad, "name: bad\ngates: [f, g]\nstates: []\nstep: |\n  h' = sigmoid(f) * h + foo(g)\nforget: f_\n");
        var r = Forgetgate("init", "--variant", bad, "--hidden", "4", "--out", Path.Combine(_dir, "x.safetensors"));
        Assert.Equal(2, r.Code);
        string line = r.ErrLines.Single();
        Assert.StartsWith($"forgetgate init: --variant: the cell '{bad}' has 2 problem(s): ", line, StringComparison.Ordinal);
        Assert.Contains($"{bad}:5:25: Unknown function 'foo'", line, StringComparison.Ordinal);
        Assert.Contains($"{bad}:6:9: forget: names 'f_'", line, StringComparison.Ordinal);
    }

    [Fact]
    public void CellRun_PredictModelAndReproduce_FromCheckpointOrStoredConfigAlone()
    {
        CopyShippedCells("slstm", "minlstm");
        string spec = Path.Combine(_dir, "cellrun.yaml");
        File.WriteAllText(spec, """
            name: cellrun
            scenario:
              kind: permuted
              tasks: 2
              train_per_task: 200
              test_per_task: 100
            model:
              variant: [slstm, minlstm]
              hidden: 8
            training:
              batch_size: 50
              checkpoint_every_batches: 2
            strategy:
              kind: ewc
              fisher_samples: 20
            """);
        var run = Forgetgate("run", spec, "--threads", "1");
        Assert.True(run.Code == 0, run.ToString());

        // Nothing but the store and the checkpoints from here on: the definitions travel in config and metadata.
        Directory.Delete(Path.Combine(_dir, "experiments"), recursive: true);
        string input = WriteInput(4, 28, 28);
        foreach (var (id, cell) in new[] { (1, "slstm"), (2, "minlstm") })
        {
            string folder = Path.Combine(_dir, "results", "checkpoints", $"run-00000{id}");
            string final = Path.Combine(folder, "t002-e000-b00000.safetensors");
            Assert.Equal(cell, SafetensorsFile.Read(final).Metadata["variant"]);
            string fromCheckpoint = Path.Combine(_dir, $"ckpt{id}.safetensors"), fromModel = Path.Combine(_dir, $"model{id}.safetensors");
            var predict = Forgetgate("predict", "--checkpoint", final, "--input", input, "--output", fromCheckpoint);
            Assert.True(predict.Code == 0, predict.ToString());
            string model = Path.Combine(_dir, $"m{id}.safetensors");
            Assert.Equal(0, Forgetgate("model", $"{id}", "--out", model).Code);
            Assert.Equal(0, Forgetgate("predict", "--checkpoint", model, "--input", input, "--output", fromModel).Code);
            Assert.Equal(SafetensorsFile.Read(fromCheckpoint).GetFloat32("logits", 4, 10), SafetensorsFile.Read(fromModel).GetFloat32("logits", 4, 10));

            var whole = Forgetgate("reproduce", $"{id}", "--threads", "2");
            Assert.True(whole.Code == 0, whole.ToString());
            Assert.Contains($"reproducing run {id} (config ", whole.Out, StringComparison.Ordinal);
            Assert.Contains($", {cell}) with 2 thread(s)", whole.Out, StringComparison.Ordinal);
            Assert.EndsWith("bit-identical to the stored run.", whole.Out.TrimEnd(), StringComparison.Ordinal);

            // A mid-task checkpoint (task 2, epoch 1, batch 2): the re-run stops there and writes the same bytes.
            string middle = Path.Combine(folder, "t001-e000-b00002.safetensors");
            var partial = Forgetgate("reproduce", middle, "--threads", "1");
            Assert.True(partial.Code == 0, partial.ToString());
            Assert.Contains($"reproducing run {id} up to its checkpoint t001-e000-b00002.safetensors (task 2, epoch 1, batch 2)", partial.Out, StringComparison.Ordinal);
            Assert.Contains($"checkpoint: the re-run's t001-e000-b00002.safetensors is byte-identical to {middle} (SHA-256 ", partial.Out, StringComparison.Ordinal);
            Assert.EndsWith("bit-identical to the stored run up to that checkpoint.", partial.Out.TrimEnd(), StringComparison.Ordinal);
        }

        // A checkpoint changed after the run wrote it is not what the run recorded: exit 1, named.
        string changed = Path.Combine(_dir, "results", "checkpoints", "run-000001", "t001-e000-b00000.safetensors");
        var bytes = File.ReadAllBytes(changed);
        bytes[^1] ^= 1;
        File.WriteAllBytes(changed, bytes);
        var tampered = Forgetgate("reproduce", changed);
        Assert.Equal(1, tampered.Code);
        Assert.Contains("is not the ", tampered.ErrLines.Single(), StringComparison.Ordinal);
        Assert.Contains("run 1 recorded when it wrote this checkpoint: the file was changed or replaced.", tampered.Err, StringComparison.Ordinal);

        // A copy outside its run's folder names no run.
        string copy = Path.Combine(_dir, "copy.safetensors");
        File.Copy(Path.Combine(_dir, "results", "checkpoints", "run-000002", "t002-e000-b00000.safetensors"), copy);
        var outside = Forgetgate("reproduce", copy);
        Assert.Equal(2, outside.Code);
        Assert.Equal($"forgetgate reproduce: {copy}: a run checkpoint lives in its run's folder results/checkpoints/run-NNNNNN/; this file's folder names no run.", outside.ErrLines.Single());
    }

    private string WriteInput(int n, int steps, int features)
    {
        var rng = new Rng(14);
        var x = new float[n * steps * features];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)rng.NextDouble();
        }

        string path = Path.Combine(_dir, $"x{n}-{steps}.safetensors");
        new SafetensorsFile([SafetensorsTensor.FromFloat32("input", [n, steps, features], x)]).Write(path);
        return path;
    }
}
