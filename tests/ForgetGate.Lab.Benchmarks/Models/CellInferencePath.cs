using System.Globalization;
using ForgetGate.Lab.Core.Cells;
using ForgetGate.Lab.Numerics.Diagnostics;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Random;
using ForgetGate.Lab.Numerics.Threading;

namespace ForgetGate.Lab.Benchmarks.Models;

/// <summary>
/// <c>-- cell-inference [H ...]</c>: cell files on the row-block inference path against the fused built-in lstm, one
/// thread, B = 1,000, T = 28, D = 28, in one process: rounds alternate over every model, each timed in this thread's CPU
/// time (a shared machine's waiting is left out), the best round of each kept. The anchor is the fused lstm of the same
/// round; lstm-generic is the same network as a file, so its ratio is the generic path's cost. Each cell's
/// training-layout forward (its inference path before) is timed beside it, and logits are checked equal to it.
/// </summary>
internal static class CellInferencePath
{
    private static readonly string[] s_cells = ["lstm-generic", "janet", "peephole", "slstm", "minlstm"];

    public static void Run(string[] args)
    {
        var inv = CultureInfo.InvariantCulture;
        int[] hidden = args.Length > 1 ? [.. args.Skip(1).Select(a => int.Parse(a, inv))] : [128];
        const int T = 28, D = 28, B = 1000, Rounds = 8;
        string cells = FindCells();
        foreach (int h in hidden)
        {
            var models = new List<(string Name, RecurrentModel Model)>
            {
                ("lstm (fused)", new RecurrentModel(new RecurrentModelConfig(Variant.Lstm, D, h, 1, 10), ComputePool.SingleThreaded)),
            };
            foreach (string cell in s_cells)
            {
                var graph = CellFileReader.ReadFile(Path.Combine(cells, cell + ".yaml"), cell).Graph
                    ?? throw new InvalidOperationException($"{cell}.yaml does not check");
                models.Add((cell, new RecurrentModel(RecurrentModelConfig.ForCell(graph, D, h, 1, 10), ComputePool.SingleThreaded)));
            }

            var rng = new Rng(2);
            var x = new float[B * T * D];
            for (int i = 0; i < x.Length; i++)
            {
                x[i] = (float)rng.NextGaussian();
            }

            var infer = new double[models.Count];
            var forward = new double[models.Count];
            var equal = new bool[models.Count];
            Array.Fill(infer, double.MaxValue);
            Array.Fill(forward, double.MaxValue);
            var a = new float[B * 10];
            var b = new float[B * 10];
            for (int m = 0; m < models.Count; m++)
            {
                models[m].Model.Initialize(new Rng(1), T);
                models[m].Model.Forward(x, B, T, a, training: true);
                models[m].Model.Forward(x, B, T, b, training: false);
                equal[m] = a.AsSpan().SequenceEqual(b);
            }

            double peak = 0;
            for (int r = 0; r < Rounds; r++)
            {
                peak = Math.Max(peak, FmaPeak.Measure(1, 2_000_000) is var p && double.IsFinite(p) ? p : 0);
                for (int m = 0; m < models.Count; m++)
                {
                    double t0 = ThreadCpu.Seconds();
                    models[m].Model.Forward(x, B, T, b, training: false);
                    double t1 = ThreadCpu.Seconds();
                    infer[m] = Math.Min(infer[m], t1 - t0);
                    if (r < 3)
                    {
                        models[m].Model.Forward(x, B, T, a, training: true);
                        forward[m] = Math.Min(forward[m], ThreadCpu.Seconds() - t1);
                    }
                }
            }

            double flops = 8.0 * T * h * (D + h) * B; // an LSTM's forward, the yardstick for every row
            Console.WriteLine(string.Create(inv, $"H={h} B={B} T={T} D={D}, 1 thread, best of {Rounds} alternating rounds in thread CPU time; FMA peak {peak:F0} GFLOP/s"));
            Console.WriteLine(string.Create(inv, $"{"model",-14} {"inference/s",12} {"vs fused lstm",14} {"LSTM-GFLOP/s",13} {"training-layout fwd/s",22} {"inference/fwd",14} {"logits = training fwd",22}"));
            for (int m = 0; m < models.Count; m++)
            {
                Console.WriteLine(string.Create(inv,
                    $"{models[m].Name,-14} {B / infer[m],12:F0} {infer[0] / infer[m],13:F2}x {flops / infer[m] / 1e9,13:F1} {B / forward[m],22:F0} {forward[m] / infer[m],13:F2}x {equal[m],22}"));
                models[m].Model.Dispose();
            }
        }
    }

    private static string FindCells()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !Directory.Exists(Path.Combine(dir.FullName, "experiments", "cells")))
        {
            dir = dir.Parent;
        }

        return dir is null ? throw new DirectoryNotFoundException("experiments/cells not found above " + AppContext.BaseDirectory) : Path.Combine(dir.FullName, "experiments", "cells");
    }
}
