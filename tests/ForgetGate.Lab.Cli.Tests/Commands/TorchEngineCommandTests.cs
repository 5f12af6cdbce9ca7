using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using ForgetGate.Lab.Cli.Commands;
using ForgetGate.Lab.Cli.Tests.Support;
using ForgetGate.Lab.Numerics.Engines;
using ForgetGate.Lab.Numerics.Serialization;
using ForgetGate.Lab.Torch;

namespace ForgetGate.Lab.Cli.Tests.Commands;

/// <summary>
/// <c>--engine torch</c> on bench and predict through the commands, and what a machine without libtorch sees: the run
/// fails with one sentence naming the library and the fix, while the worker goes on with the next run.
/// </summary>
public sealed class TorchEngineCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fg-torch-").FullName;

    public TorchEngineCommandTests() => ModelEngines.Register(TorchEngine.Instance);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Bench_TorchEngine_PrintsTheManagedBenchFields()
    {
        // A built-in and two cell files (slstm with extra states; minlstm without weight_hh), named as in a spec: the
        // repository root is the working directory, so ./experiments/cells resolves them.
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "ForgetGate.Lab.sln")))
        {
            root = root.Parent;
        }

        string[] tiny = ["bench", "--variant", "ur-lstm,slstm,minlstm", "--hidden", "9", "--batch", "3", "--steps", "2", "--seconds", "0.05", "--threads", "1", "--json"];
        var managed = CliProcess.Run(root!.FullName, null, tiny);
        var torch = CliProcess.Run(root.FullName, null, [.. tiny, "--engine", "torch"]);
        Assert.True(managed.Code == 0, managed.ToString());
        Assert.True(torch.Code == 0, torch.ToString());
        var ms = managed.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var ts = torch.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["ur-lstm", "slstm", "minlstm"], ts.Select(o => o.GetProperty("variant").GetString()));
        for (int i = 0; i < ts.Count; i++)
        {
            var m = ms[i];
            var t = ts[i];
            Assert.Equal(m.EnumerateObject().Select(p => p.Name), t.EnumerateObject().Select(p => p.Name));
            Assert.Equal("managed", m.GetProperty("engine").GetString());
            Assert.Equal("torch", t.GetProperty("engine").GetString());
            Assert.True(t.GetProperty("train_samples_per_s").GetDouble() > 0, torch.Out);
            Assert.True(t.GetProperty("infer_samples_per_s").GetDouble() > 0, torch.Out);
        }

        var text = CliProcess.Run(_dir, null, ["bench", "--variant", "gru", "--hidden", "9", "--batch", "3", "--steps", "2", "--seconds", "0.05", "--threads", "1", "--engine", "torch"]);
        Assert.True(text.Code == 0, text.ToString());
        Assert.Contains("engine=torch H=9 B=3 T=2", text.Out, StringComparison.Ordinal);
        Assert.Single(text.Out.Split('\n'), l => l.StartsWith("gru ", StringComparison.Ordinal) && l.Contains("samples/s", StringComparison.Ordinal));
    }

    [Fact]
    public void Bench_UnknownEngine_ExitsTwoNamingTheChoices()
    {
        var r = CliProcess.Run(_dir, null, "bench", "--engine", "cuda");
        Assert.True(r.Code == 2, r.ToString());
        Assert.Contains("cuda", r.Err, StringComparison.Ordinal);
        Assert.Contains("managed", r.Err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("lstm", 1)]
    [InlineData("gru", 2)]
    [InlineData("ur-lstm", 1)]
    [InlineData("cifg", 2)]
    public void Predict_TorchEngine_WritesPyTorchLogits(string variant, int layers) =>
        PredictMatchesGolden($"ckpt_{variant}_l{layers}", $"golden_{variant}_l{layers}");

    [Theory]
    [InlineData("slstm", "h5_l2_b3")]
    [InlineData("minlstm", "h13_l1_b1")]
    [InlineData("peephole", "h5_l2_b3")]
    public void Predict_TorchEngine_CellFileCheckpoint_WritesPyTorchLogits(string cell, string shape)
    {
        // The cell goldens (make_cell_goldens.py): PyTorch wrote the checkpoint with the definition in its metadata,
        // so predict needs no cell file; minlstm's has no weight_hh.
        PredictMatchesGolden($"cell_ckpt_{cell}_{shape}", $"cell_golden_{cell}_{shape}");
    }

    [Fact]
    public void Run_WithoutLibtorch_FailsTheTorchRunInOneSentenceAndTheWorkerRunsTheNext()
    {
        // A copy of the program whose native folder lacks libLibTorchSharp.so (everything else linked back): the machine
        // of a user who copied the program without the libtorch package's files.
        string program = Path.Combine(_dir, "program");
        CopyProgramWithout(AppContext.BaseDirectory, program, "libLibTorchSharp.so");
        string spec = Path.Combine(_dir, "engines.yaml");
        File.WriteAllText(spec, """
            name: engines
            scenario:
              kind: drift
              tasks: 2
              train_per_task: 64
              test_per_task: 16
              window: 4
            model:
              engine: [torch, managed]
              hidden: 4
            training:
              batch_size: 32
            """);
        string db = Path.Combine(_dir, "fg.db");
        var run = Run(program, "run", spec, "--db", db, "--threads", "1");
        Assert.True(run.Code == 1, run.ToString());   // a failed outcome, not a crash (4) or a hang
        string all = run.Out + run.Err;
        Assert.Contains("libLibTorchSharp.so", all, StringComparison.Ordinal);
        Assert.Contains("libtorch-cpu-linux-x64", all, StringComparison.Ordinal);
        Assert.Contains("model.engine: managed", all, StringComparison.Ordinal);
        var status = Run(program, "status", "--db", db);
        Assert.True(status.Code == 0, status.ToString());
        Assert.Matches(@"engines\s+0\s+0\s+1\s+1\s+0", status.Out);   // queued 0, running 0, done 1 (managed), failed 1 (torch), cancelled 0

        // A command that needs the engine itself ends with the same sentence and exit 3 (the environment).
        var bench = Run(program, "bench", "--engine", "torch", "--variant", "lstm", "--hidden", "4", "--batch", "2", "--steps", "2", "--seconds", "0.05", "--threads", "1");
        Assert.True(bench.Code == 3, bench.ToString());
        Assert.Single(bench.ErrLines);
        Assert.Contains("libLibTorchSharp.so", bench.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_CellFileOnTheTorchEngine_ThroughTheWorker_ReproducesOnManaged()
    {
        // A cell file (peephole: params and a state) swept over both engines through the real worker process, then the
        // torch run re-run on the managed engine from its stored config alone: the same run to float32 rounding.
        Directory.CreateDirectory(Path.Combine(_dir, "cells"));
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "ForgetGate.Lab.sln")))
        {
            root = root.Parent;
        }

        File.Copy(Path.Combine(root!.FullName, "experiments", "cells", "peephole.yaml"), Path.Combine(_dir, "cells", "peephole.yaml"));
        string spec = Path.Combine(_dir, "cellrun.yaml");
        File.WriteAllText(spec, """
            name: cellrun
            scenario:
              kind: drift
              tasks: 2
              train_per_task: 64
              test_per_task: 16
              window: 4
            model:
              variant: peephole
              engine: [managed, torch]
              hidden: 5
            training:
              batch_size: 32
            """);
        string db = Path.Combine(_dir, "fg.db");
        var run = CliProcess.Run(_dir, null, "run", spec, "--db", db, "--threads", "1", "--concurrency", "1");
        Assert.True(run.Code == 0, run.ToString());
        var status = CliProcess.Run(_dir, null, "status", "--db", db);
        Assert.Matches(@"cellrun\s+0\s+0\s+2\s+0\s+0", status.Out);   // both runs done, none failed

        File.Delete(Path.Combine(_dir, "cells", "peephole.yaml"));
        var reproduce = CliProcess.Run(_dir, null, "reproduce", "2", "--db", db, "--engine", "managed", "--threads", "1");
        Assert.True(reproduce.Code is 0 or 1, reproduce.ToString());   // 1: not bit-identical, as engines differ in rounding
        Assert.Contains("engine: managed (the stored run used torch).", reproduce.Out, StringComparison.Ordinal);
        Assert.Contains(", peephole) with 1 thread(s)", reproduce.Out, StringComparison.Ordinal);
        // metric, rows, stored mean, new mean, max |diff| per metric.
        var rows = reproduce.Out.Split('\n')
            .Select(l => System.Text.RegularExpressions.Regex.Match(l, @"^(\S+)\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$"))
            .Where(m => m.Success && m.Groups[1].Value != "metric")
            .ToList();
        Assert.NotEmpty(rows);
        foreach (var m in rows)
        {
            double stored = double.Parse(m.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture);
            double diff = double.Parse(m.Groups[5].Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(diff <= 1e-3 * Math.Max(1, Math.Abs(stored)), $"{m.Groups[1].Value}: max |diff| {diff} between the torch run and its managed re-run\n{reproduce.Out}");
        }
    }

    private static void CopyProgramWithout(string from, string to, string leaveOut)
    {
        // Managed files are copied (the host resolves the app from its own folder); native libraries are linked.
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            string rel = Path.GetRelativePath(from, file);
            if (Path.GetFileName(file) == leaveOut)
            {
                continue;
            }

            string target = Path.Combine(to, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            if (rel.StartsWith("runtimes", StringComparison.Ordinal))
            {
                File.CreateSymbolicLink(target, file);
            }
            else
            {
                File.Copy(file, target);
            }
        }
    }

    private static CliProcess.Result Run(string program, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetDirectoryName(program)! };
        psi.ArgumentList.Add(Path.Combine(program, "forgetgate.dll"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment.Remove("FORGETGATE_DB");
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(180_000))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"forgetgate {string.Join(' ', args)} did not finish in 180 s");
        }

        return new CliProcess.Result(p.ExitCode, stdout.Result, stderr.Result);
    }

    private void PredictMatchesGolden(string checkpoint, string goldenFile)
    {
        // The PyTorch 1.13 goldens of the Numerics tests (make_goldens.py, make_cell_goldens.py): checkpoint and input
        // written by PyTorch; predict splits the batch in 2 so a partial last batch is covered.
        string golden = Path.Combine(AppContext.BaseDirectory, "golden");
        var output = Path.Combine(_dir, "y.safetensors");
        var root = new RootCommand { PredictCommand.Create() };
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = root.Parse([
            "predict", "--engine", "torch",
            "--checkpoint", Path.Combine(golden, checkpoint + ".safetensors"),
            "--input", Path.Combine(golden, goldenFile + ".safetensors"),
            "--output", output, "--batch-size", "2"]).Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
        Assert.True(code == 0, stderr.ToString());
        var expected = SafetensorsFile.Read(Path.Combine(golden, goldenFile + ".safetensors")).Get("logits");
        var actual = SafetensorsFile.Read(output).GetFloat32("logits", [.. expected.Shape]);
        var e = expected.AsFloat32();
        double scale = Math.Max(1e-6, e.Max(Math.Abs));
        for (int i = 0; i < e.Length; i++)
        {
            Assert.True(Math.Abs(actual[i] - e[i]) <= 1e-5 * scale, $"logit {i}: torch engine {actual[i]} vs PyTorch {e[i]}");
        }
    }
}
