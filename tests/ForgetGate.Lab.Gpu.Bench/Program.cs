using System.Globalization;
using System.Text.Json;
using ForgetGate.Lab.Gpu;
using ForgetGate.Lab.Numerics.Models;

// forgetgate-gpu-bench: the GPU engine's training throughput for 1 and N batched runs (DESIGN.md §13), the same
// figures `forgetgate bench --engine gpu --runs N` prints, as a small self-contained program for GPU machines.
var inv = CultureInfo.InvariantCulture;
var o = new Dictionary<string, string>(StringComparer.Ordinal)
{
    ["--device"] = "auto", ["--variant"] = "lstm", ["--hidden"] = "128", ["--batch"] = "128", ["--steps"] = "28",
    ["--layers"] = "1", ["--runs"] = "1,64", ["--seconds"] = "3", ["--infer-batch"] = "1000", ["--sweep"] = "0", ["--sweep-steps"] = "20",
};
bool check = false, json = false, info = false, checkOnly = false;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--check": check = true; break;
        case "--check-only": check = checkOnly = true; break;
        case "--json": json = true; break;
        case "--info": info = true; break;
        case "-h" or "--help":
            Console.WriteLine("usage: forgetgate-gpu-bench [--device auto|cuda|cpu] [--variant lstm,gru,…] [--hidden 128] [--batch 128] [--steps 28] [--layers 1] [--runs 1,64] [--seconds 3] [--infer-batch 1000] [--check | --check-only] [--sweep N [--sweep-steps 20]] [--info] [--json]");
            return 0;
        default:
            if (!o.ContainsKey(args[i]) || i + 1 >= args.Length)
            {
                Console.Error.WriteLine($"forgetgate-gpu-bench: unknown option or missing value '{args[i]}'; see --help.");
                return 2;
            }

            o[args[i]] = args[++i];
            break;
    }
}

int Int(string name)
{
    if (!int.TryParse(o[name], NumberStyles.Integer, inv, out int v) || v < 1)
    {
        throw new ArgumentException($"{name} must be a positive integer (got '{o[name]}').");
    }

    return v;
}

try
{
    var preference = o["--device"] switch
    {
        "auto" => GpuPreference.Auto,
        "cuda" => GpuPreference.Cuda,
        "cpu" => GpuPreference.Cpu,
        var other => throw new ArgumentException($"--device must be auto, cuda or cpu (got '{other}')."),
    };
    if (info)
    {
        foreach (var line in GpuDevice.ListAccelerators())
        {
            Console.WriteLine("accelerator  " + line);
        }
    }

    var variants = o["--variant"].Split(',').Select(Variants.Parse).ToArray();
    var runsList = o["--runs"].Split(',').Select(s => int.TryParse(s, NumberStyles.Integer, inv, out int r) && r >= 1 ? r : throw new ArgumentException($"--runs takes positive integers separated by commas (got '{s}').")).ToArray();
    double seconds = double.Parse(o["--seconds"], inv);
    using var device = GpuDevice.Open(preference);
    Console.WriteLine($"device       {device.Description}");
    if (check)
    {
        bool all = true;
        foreach (var v in variants)
        {
            var (lines, passed) = GpuBenchmark.SelfCheck(device, v, Int("--hidden"), Int("--batch"), Int("--steps"));
            lines.ToList().ForEach(Console.WriteLine);
            all &= passed;
        }

        Console.WriteLine(all ? "self-check passed" : "self-check FAILED");
        if (checkOnly)
        {
            return all ? 0 : 1;
        }
    }

    if (o["--sweep"] != "0")
    {
        // A sweep of N runs through the engine seam (as worker --gpu trains it): one at a time, then batched.
        foreach (var v in variants)
        {
            var sweep = GpuSweepBenchmark.Measure(device, v, Int("--hidden"), Int("--batch"), Int("--steps"), Int("--sweep"), Int("--sweep-steps"));
            Console.WriteLine(string.Create(inv,
                $"sweep {v.Name(),-9} runs={sweep.Runs} steps={sweep.TrainSteps}: one at a time {sweep.AloneSeconds:F2} s | batched {sweep.BatchedSeconds:F2} s ({sweep.RunsPerLaunch:F2} runs per launch) | {sweep.Speedup:F2}x faster | final parameters bit-identical: {(sweep.BitIdentical ? "yes" : "NO")}"));
            if (!sweep.BitIdentical)
            {
                return 1;
            }
        }

        return 0;
    }

    if (!json)
    {
        Console.WriteLine(string.Create(inv, $"forgetgate bench  engine=gpu H={Int("--hidden")} B={Int("--batch")} T={Int("--steps")} D=28 layers={Int("--layers")} runs={o["--runs"]}"));
    }

    foreach (var v in variants)
    {
        foreach (int runs in runsList)
        {
            var options = new GpuBenchOptions(Int("--hidden"), Int("--batch"), Int("--steps"), Int("--layers"), runs, seconds, Int("--infer-batch"));
            var r = GpuBenchmark.Measure(device, v, options);
            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["variant"] = v.Name(), ["engine"] = "gpu", ["device"] = device.Description, ["hidden"] = options.Hidden, ["batch"] = options.Batch,
                    ["steps"] = options.Steps, ["layers"] = options.Layers, ["runs"] = runs,
                    ["train_samples_per_s"] = Math.Round(r.TrainSamplesPerSecond, 1),
                    ["aggregate_train_samples_per_s"] = Math.Round(r.AggregateTrainSamplesPerSecond, 1),
                    ["train_ms_per_step"] = Math.Round(r.TrainMsPerStep, 3), ["gflops"] = Math.Round(r.AggregateGflops, 2),
                    ["infer_samples_per_s"] = Math.Round(r.InferSamplesPerSecond, 1),
                }));
            }
            else
            {
                Console.WriteLine(string.Create(inv,
                    $"{v.Name(),-9} runs={runs,-3} train {r.TrainSamplesPerSecond,9:F0} samples/s per run ({r.TrainMsPerStep,7:F2} ms/step) | aggregate {r.AggregateTrainSamplesPerSecond,10:F0} samples/s {r.AggregateGflops,8:F1} GFLOP/s | infer(B={options.InferBatch}) {r.InferSamplesPerSecond,9:F0} samples/s"));
            }
        }
    }

    return 0;
}
catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException)
{
    Console.Error.WriteLine("forgetgate-gpu-bench: " + e.Message);
    return 2;
}
