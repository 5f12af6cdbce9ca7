using System.Diagnostics;
using System.Globalization;
using ForgetGate.Lab.Core.Data;
using ForgetGate.Lab.Core.Scenarios;
using ForgetGate.Lab.Core.Training;
using ForgetGate.Lab.Numerics.Random;

namespace ForgetGate.Lab.Benchmarks.Data;

/// <summary>
/// <c>dotnet run -c Release --project tests/ForgetGate.Lab.Benchmarks -- data</c>: batch assembly throughput of a
/// 10-task permuted (and rotated) Fashion-MNIST scenario over one epoch of every task, and the process's peak RSS.
/// </summary>
internal static class BatchAssembly
{
    public static void Run()
    {
        var inv = CultureInfo.InvariantCulture;
        var clock = Stopwatch.StartNew();
        var dataset = ImageDataset.Load("fashion-mnist");
        Console.WriteLine(string.Create(inv, $"loaded {dataset.Name} from {dataset.Directory} in {clock.Elapsed.TotalSeconds:F2} s"));
        foreach (var kind in new[] { ImageScenarioKind.Permuted, ImageScenarioKind.Rotated })
        {
            var tasks = new ImageTasks(dataset, new ImageScenarioOptions(kind, Tasks: 10, TrainPerTask: 60_000, TestPerTask: 10_000), seed: 1);
            const int Batch = 128;
            var x = new float[Batch * tasks.Steps * tasks.InputSize];
            var labels = new int[Batch];
            var indices = new int[Batch];
            long samples = 0;
            var sw = Stopwatch.StartNew();
            for (int t = 0; t < tasks.TaskCount; t++)
            {
                int n = tasks.Count(t, DataSplit.Train);
                var order = Enumerable.Range(0, n).ToArray();
                new Rng(7).Split($"order/{t}").Shuffle<int>(order);
                for (int from = 0; from + Batch <= n; from += Batch)
                {
                    order.AsSpan(from, Batch).CopyTo(indices);
                    tasks.FillBatch(t, DataSplit.Train, indices, x, labels, default);
                    samples += Batch;
                }
            }

            double rate = samples / sw.Elapsed.TotalSeconds;
            using var self = Process.GetCurrentProcess();
            self.Refresh();
            Console.WriteLine(string.Create(inv,
                $"{kind,-9} 10 tasks × 60,000 samples, batch {Batch}: {rate:N0} samples/s ({samples:N0} samples in {sw.Elapsed.TotalSeconds:F2} s); peak RSS {self.PeakWorkingSet64 / 1048576.0:F0} MiB"));
        }
    }
}
