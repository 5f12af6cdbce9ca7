using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ForgetGate.Lab.Core.Training;
using ForgetGate.Lab.Numerics.Diagnostics;
using ForgetGate.Lab.Numerics.Engines;
using ForgetGate.Lab.Numerics.Losses;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Optim;
using ForgetGate.Lab.Numerics.Random;
using ForgetGate.Lab.Numerics.Threading;

namespace ForgetGate.Lab.Cli.Commands;

/// <summary>
/// <c>forgetgate bench</c>: training and inference throughput of every variant on random row-by-row MNIST shapes
/// (28 features, 10 classes, softmax cross-entropy, Adam lr 1e-3), as the PyTorch anchor script measures it.
/// </summary>
internal static class BenchCommand
{
    private const int InputSize = 28;
    private const int Classes = 10;
    private const int InferBatch = 1000;

    public static Command Create()
    {
        var variant = new Option<string?>("--variant") { Description = "Variants to measure, comma-separated: built-ins (lstm, lstm-fb1, cifg, gru, ur-lstm, chrono), cells in ./experiments/cells, or cell file paths, e.g. lstm,lstm-generic; default: the six built-ins." };
        var hidden = new Option<int>("--hidden") { Description = "Hidden units H.", DefaultValueFactory = _ => 128 };
        var batch = new Option<int>("--batch") { Description = "Training batch B.", DefaultValueFactory = _ => 128 };
        var steps = new Option<int>("--steps") { Description = "Sequence length T.", DefaultValueFactory = _ => 28 };
        var layers = new Option<int>("--layers") { Description = "Stacked layers.", DefaultValueFactory = _ => 1 };
        var threads = new Option<int>("--threads") { Description = "Worker threads (default: all cores).", DefaultValueFactory = _ => Environment.ProcessorCount };
        var seconds = new Option<double>("--seconds") { Description = "Timed seconds per training measurement (median of ≥ 3 windows; inference gets half).", DefaultValueFactory = _ => 2.0 };
        var rounds = new Option<int>("--rounds") { Description = "Rounds over all variants, taken in turn; each figure is the variant's median round (a slow spell on a shared machine then hits every variant alike).", DefaultValueFactory = _ => 1 };
        var json = new Option<bool>("--json") { Description = "One JSON object per variant." };
        var engine = EngineOption.Create();
        var runs = new Option<int>("--runs") { Description = "gpu engine: also train this many runs together on the device and print aggregate samples/s (0: none).", DefaultValueFactory = _ => 0 };
        var command = new Command(
            "bench",
            "Train and run every variant on random data (input 28, 10 classes, Adam) and print samples/s and GFLOP/s.\n" +
            "Example: forgetgate bench --hidden 128 --batch 128 --threads 2")
        {
            variant, hidden, batch, steps, layers, threads, seconds, rounds, json, engine, runs,
        };
        command.SetAction(parse =>
        {
            string? name = parse.GetValue(variant);
            // Several in one process (lstm,lstm-generic) give same-run ratios, which a shared machine's load cannot skew
            // the way it skews figures from separate processes.
            ModelVariant[] selected = name is null
                ? [.. Variants.All.Select(v => new ModelVariant(v.Name(), v, null))]
                : [.. name.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(n => ModelVariants.Resolve(n)).DistinctBy(v => v.Name)];
            if (selected.Length == 0)
            {
                throw new Errors.CliException(Errors.ExitCodes.BadInput, "--variant: no variant named.");
            }

            var options = new BenchOptions(
                parse.GetValue(hidden), parse.GetValue(batch), parse.GetValue(steps), parse.GetValue(layers),
                parse.GetValue(threads), parse.GetValue(seconds), parse.GetValue(rounds), parse.GetValue(json), parse.GetValue(engine)!);
            string? error = options.Validate();
            if (error is not null)
            {
                throw new Errors.CliException(Errors.ExitCodes.BadInput, error);
            }

            int batched = parse.GetValue(runs);
            if (batched < 0 || (batched > 0 && options.Engine != "gpu"))
            {
                throw new Errors.CliException(Errors.ExitCodes.BadInput, $"--runs {batched}: batched runs need --engine gpu and a count of at least 1.");
            }

            if (batched > 0 && selected.FirstOrDefault(v => v.Cell is not null) is { } cell)
            {
                throw new Errors.CliException(Errors.ExitCodes.BadInput, $"--runs {batched}: the batched gpu benchmark runs the built-in variants only, not the cell '{cell.Name}'.");
            }

            Run(selected, options);
            if (batched > 0)
            {
                RunBatched([.. selected.Select(v => v.Variant)], options, batched);
            }

            return 0;
        });
        return command;
    }

    private static void Run(ModelVariant[] variants, BenchOptions o)
    {
        var inv = CultureInfo.InvariantCulture;
        using var pool = new ComputePool(o.Threads);

        // An engine that cannot run here ends the command with its one sentence before anything is printed.
        using (ModelEngines.Create(o.Engine, new RecurrentModelConfig(Variant.Lstm, 1, 1, 1, 1), pool))
        {
        }

        // More workers than cores share cores: every figure (and the peak) then measures the scheduler, not the engine.
        int cores = Environment.ProcessorCount;
        if (o.Threads > cores)
        {
            Console.Error.WriteLine(string.Create(inv,
                $"warning: --threads {o.Threads} is more than the {cores} cores here; workers take turns on a core, so the figures understate what {cores} threads would do."));
        }

        // The FMA peak of this machine at this thread count, measured, so "% of peak" means the same on any CPU.
        double peak = FmaPeak.Measure(o.Threads);
        if (!o.Json)
        {
            Console.WriteLine(string.Create(inv,
                $"forgetgate bench  engine={o.Engine} H={o.Hidden} B={o.Batch} T={o.Steps} D={InputSize} layers={o.Layers} threads={o.Threads} of {cores} cores  {(double.IsNaN(peak) ? "(no hardware FMA: scalar products)" : $"(measured FMA peak {peak:F0} GFLOP/s, {FmaPeak.VectorBits}-bit)")}"));
            Console.WriteLine("FLOPs per training step: 24·T·B·H·(D+H) per layer (PyTorch's LSTM count), scaled by G/4 for 3-gate variants (cifg, gru); a cell file counts its G blocks on the input side and only its recurrent blocks on the hidden side.");
        }

        // The kernels all variants share are JIT-tiered while the first variant runs; one discarded pass keeps
        // that cost out of the figures (without it the first variant measured up to 45% slow).
        Measure(variants[0], o with { Seconds = Math.Min(o.Seconds, 1.5) }, pool);
        GC.Collect();
        var results = variants.ToDictionary(v => v, _ => new List<BenchResult>());
        for (int round = 1; round <= o.Rounds; round++)
        {
            if (!o.Json && o.Rounds > 1)
            {
                Console.WriteLine(string.Create(inv, $"round {round}/{o.Rounds}"));
            }

            foreach (var variant in variants)
            {
                var r = Measure(variant, o, pool);
                results[variant].Add(r);

                // The measured model is garbage now: collecting it here keeps the next one's figures free of that
                // work and makes the peak RSS that of the largest model rather than of all of them together.
                GC.Collect();
                GC.WaitForPendingFinalizers();
                GC.Collect();
                if (!o.Json)
                {
                    PrintLine(variant, r, peak);
                }
            }
        }

        if (!o.Json && o.Rounds > 1)
        {
            Console.WriteLine(string.Create(inv, $"median of {o.Rounds} rounds (train samples/s min–max in brackets)"));
        }

        foreach (var variant in variants)
        {
            var all = results[variant];
            var byTrain = all.OrderBy(r => r.TrainSamplesPerSecond).ToList();
            var byInfer = all.OrderBy(r => r.InferSamplesPerSecond).ToList();
            var r = byTrain[byTrain.Count / 2] with
            {
                InferSamplesPerSecond = byInfer[byInfer.Count / 2].InferSamplesPerSecond,
                InferGflops = byInfer[byInfer.Count / 2].InferGflops,
            };
            if (o.Json)
            {
                Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["variant"] = variant.Name,
                    ["engine"] = o.Engine,
                    ["hidden"] = o.Hidden,
                    ["batch"] = o.Batch,
                    ["steps"] = o.Steps,
                    ["layers"] = o.Layers,
                    ["threads"] = o.Threads,
                    ["cores"] = Environment.ProcessorCount,
                    ["rounds"] = o.Rounds,
                    ["train_samples_per_s"] = Math.Round(r.TrainSamplesPerSecond, 1),
                    ["train_samples_per_s_min"] = Math.Round(byTrain[0].TrainSamplesPerSecond, 1),
                    ["train_samples_per_s_max"] = Math.Round(byTrain[^1].TrainSamplesPerSecond, 1),
                    ["infer_samples_per_s"] = Math.Round(r.InferSamplesPerSecond, 1),
                    ["train_ms_per_step"] = Math.Round(r.TrainMsPerStep, 3),
                    ["gflops"] = Math.Round(r.TrainGflops, 2),
                    ["infer_gflops"] = Math.Round(r.InferGflops, 2),
                    ["peak_gflops"] = double.IsNaN(peak) ? 0 : Math.Round(peak, 1),
                    ["peak_fraction"] = double.IsNaN(peak) ? 0 : Math.Round(r.TrainGflops / peak, 4),
                    ["infer_peak_fraction"] = double.IsNaN(peak) ? 0 : Math.Round(r.InferGflops / peak, 4),
                    ["peak_rss_mib"] = Math.Round(PeakRssMiB(), 1),
                }));
            }
            else if (o.Rounds > 1)
            {
                PrintLine(variant, r, peak, string.Create(inv, $" [{byTrain[0].TrainSamplesPerSecond:F0}–{byTrain[^1].TrainSamplesPerSecond:F0}]"));
            }
        }

        if (!o.Json)
        {
            Console.WriteLine(string.Create(inv, $"peak RSS {PeakRssMiB():F0} MiB (this process; each model is collected before the next is built)"));
        }
    }

    /// <summary>
    /// The gpu engine's aggregate figure: <paramref name="runs"/> runs trained together on the device, everything
    /// (weights, Adam moments, data) resident there, one launch per operation for all of them.
    /// </summary>
    private static void RunBatched(Variant[] variants, BenchOptions o, int runs)
    {
        var inv = CultureInfo.InvariantCulture;
        var device = ForgetGate.Lab.Gpu.GpuEngine.SharedDevice;
        foreach (var variant in variants)
        {
            var r = ForgetGate.Lab.Gpu.GpuBenchmark.Measure(device, variant, new ForgetGate.Lab.Gpu.GpuBenchOptions(o.Hidden, o.Batch, o.Steps, o.Layers, runs, o.Seconds));
            if (o.Json)
            {
                Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["variant"] = variant.Name(),
                    ["engine"] = "gpu",
                    ["device"] = device.Description,
                    ["runs"] = runs,
                    ["train_samples_per_s"] = Math.Round(r.TrainSamplesPerSecond, 1),
                    ["aggregate_train_samples_per_s"] = Math.Round(r.AggregateTrainSamplesPerSecond, 1),
                    ["train_ms_per_step"] = Math.Round(r.TrainMsPerStep, 3),
                    ["gflops"] = Math.Round(r.AggregateGflops, 2),
                    ["infer_samples_per_s"] = Math.Round(r.InferSamplesPerSecond, 1),
                }));
            }
            else
            {
                Console.WriteLine(string.Create(inv,
                    $"{variant.Name(),-9} {runs} runs together on {device.Description}: {r.TrainSamplesPerSecond:F0} samples/s per run ({r.TrainMsPerStep:F2} ms/step), aggregate {r.AggregateTrainSamplesPerSecond:F0} samples/s, {r.AggregateGflops:F1} GFLOP/s"));
            }
        }
    }

    /// <summary>The process's peak resident set so far (all models measured up to now, the runtime included).</summary>
    private static double PeakRssMiB()
    {
        using var self = Process.GetCurrentProcess();
        return self.PeakWorkingSet64 / (1024.0 * 1024.0);
    }

    private static void PrintLine(ModelVariant variant, BenchResult r, double peak, string range = "")
    {
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(inv,
            $"{variant.Name,-12} train {r.TrainSamplesPerSecond,9:F0} samples/s ({r.TrainMsPerStep,7:F2} ms/step) {r.TrainGflops,6:F1} GFLOP/s {(double.IsNaN(peak) ? "  n/a" : (100 * r.TrainGflops / peak).ToString("F1", inv)),5}% of peak | " +
            $"infer(B={InferBatch}) {r.InferSamplesPerSecond,9:F0} samples/s {r.InferGflops,6:F1} GFLOP/s {(double.IsNaN(peak) ? "  n/a" : (100 * r.InferGflops / peak).ToString("F1", inv)),5}% of peak{range}"));
    }

    private static BenchResult Measure(ModelVariant variant, BenchOptions o, ComputePool pool)
    {
        var config = variant.Config(InputSize, o.Hidden, o.Layers, Classes);
        var rng = new Rng(2026).Split(variant.Name);
        // Through the seam, as a run uses it: the torch engine's step includes copying parameters in and gradients out,
        // and every engine's optimizer is our Adam on the host buffers.
        using var model = ModelEngines.Create(o.Engine, config, pool);
        ParameterInit.Initialize(model, rng.Split("init"), o.Steps);
        var adam = new Adam(model.Parameters, lr: 1e-3f);

        var data = rng.Split("data");
        var x = new float[o.Batch * o.Steps * InputSize];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)data.NextGaussian();
        }

        var labels = new int[o.Batch];
        for (int i = 0; i < labels.Length; i++)
        {
            labels[i] = data.NextInt(Classes);
        }

        var logits = new float[o.Batch * Classes];
        var dLogits = new float[o.Batch * Classes];
        void TrainStep()
        {
            model.Forward(x, o.Batch, o.Steps, logits, training: true);
            Losses.SoftmaxCrossEntropy(logits, labels, o.Batch, Classes, dLogits);
            model.Backward(dLogits);
            adam.Step();
        }

        var (trainSteps, trainSeconds) = Time(TrainStep, o.Seconds);

        var xi = new float[InferBatch * o.Steps * InputSize];
        for (int i = 0; i < xi.Length; i++)
        {
            xi[i] = (float)data.NextGaussian();
        }

        var out1 = new float[InferBatch * Classes];
        var (inferRuns, inferSeconds) = Time(() => model.Forward(xi, InferBatch, o.Steps, out1, training: false), o.Seconds / 2);

        // A cell's FLOPs are counted as its GEMMs' (G blocks, like a G-gate built-in); its elementwise step is not counted.
        // The input side has all G blocks, the recurrent side only the blocks that read h (config.RecurrentGateCount):
        // an all-input-only cell such as minlstm has no W_hh and no recurrent product, and counting one put it above 100%
        // of the measured peak. For the built-ins both counts are G, which is PyTorch's 8·T·H·(D+H)·G/4 per sample.
        double flopsPerSample = 0;
        for (int k = 0; k < o.Layers; k++)
        {
            int d = k == 0 ? InputSize : o.Hidden;
            flopsPerSample += 2.0 * o.Steps * o.Hidden * (d * config.GateCount + o.Hidden * config.RecurrentGateCount);   // forward; training = 3×
        }

        double trainRate = trainSteps * o.Batch / trainSeconds;
        double inferRate = inferRuns * InferBatch / inferSeconds;
        return new BenchResult(trainRate, inferRate, 1000 * trainSeconds / trainSteps, 3 * flopsPerSample * trainRate / 1e9, flopsPerSample * inferRate / 1e9);
    }

    /// <summary>Longest warm-up of one measurement; a big shape's 40 quiet steps could take longer than that.</summary>
    private static readonly TimeSpan s_warmupCap = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Warms up until the JIT has settled (<see cref="JitWarmup"/>: the first variant of a process otherwise runs
    /// part of its windows on tier-0 code or before its tier-1 compile, and reads slower than the same work later),
    /// then times windows of at least a quarter of <paramref name="seconds"/> (min 2 runs each) until
    /// <paramref name="seconds"/> have passed, and returns the median window as (runs, seconds). The median keeps
    /// one window slowed by another process on the 2 shared cores from deciding the figure.
    /// </summary>
    private static (int Runs, double Seconds) Time(Action action, double seconds)
    {
        JitWarmup.Run(action, TimeSpan.Zero, s_warmupCap);

        var windows = new List<(int Runs, double Seconds)>();
        var total = Stopwatch.StartNew();
        while (windows.Count < 3 || total.Elapsed.TotalSeconds < seconds)
        {
            var sw = Stopwatch.StartNew();
            int runs = 0;
            while (runs < 2 || sw.Elapsed.TotalSeconds < seconds / 4)
            {
                action();
                runs++;
            }

            windows.Add((runs, sw.Elapsed.TotalSeconds));
        }

        windows.Sort((a, b) => (a.Seconds / a.Runs).CompareTo(b.Seconds / b.Runs));
        return windows[windows.Count / 2];
    }

    private sealed record BenchOptions(int Hidden, int Batch, int Steps, int Layers, int Threads, double Seconds, int Rounds, bool Json, string Engine)
    {
        public string? Validate() =>
            Hidden < 1 ? $"--hidden must be at least 1 (got {Hidden})." :
            Batch < 1 ? $"--batch must be at least 1 (got {Batch})." :
            Steps < 1 ? $"--steps must be at least 1 (got {Steps})." :
            Layers < 1 ? $"--layers must be at least 1 (got {Layers})." :
            Threads < 1 ? $"--threads must be at least 1 (got {Threads})." :
            !(Seconds > 0) ? $"--seconds must be positive (got {Seconds.ToString(CultureInfo.InvariantCulture)})." :
            Rounds < 1 ? $"--rounds must be at least 1 (got {Rounds})." :
            null;
    }

    private sealed record BenchResult(double TrainSamplesPerSecond, double InferSamplesPerSecond, double TrainMsPerStep, double TrainGflops, double InferGflops);
}
