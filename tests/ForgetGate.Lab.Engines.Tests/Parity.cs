using ForgetGate.Lab.Core.Cells;
using ForgetGate.Lab.Numerics.Cells;
using ForgetGate.Lab.Numerics.Engines;
using ForgetGate.Lab.Numerics.Losses;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Optim;
using ForgetGate.Lab.Numerics.Random;

namespace ForgetGate.Lab.Engines.Tests;

/// <summary>
/// What the parity tests share: odd sizes (no vector width or tile divides them), seeded inputs, the tolerances
/// and the shipped cell files. FORGETGATE_TEST_SEED overrides the seed.
/// </summary>
internal static class Parity
{
    public const int D = 5, H = 7, C = 3, T = 6, B = 5;

    public static readonly ulong Seed =
        ulong.TryParse(Environment.GetEnvironmentVariable("FORGETGATE_TEST_SEED"), out var s) ? s : 20261201UL;

    /// <summary>The cells shipped in experiments/cells (DESIGN.md §4b).</summary>
    public static readonly string[] ShippedCells = ["lstm-generic", "slstm", "janet", "peephole", "minlstm"];

    /// <summary>The repository's experiments folder (the shipped cells live in experiments/cells).</summary>
    public static string Experiments
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (Directory.Exists(Path.Combine(dir.FullName, "experiments", "cells")))
                {
                    return Path.Combine(dir.FullName, "experiments");
                }
            }

            throw new DirectoryNotFoundException("experiments/cells not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>A shipped cell file, read and checked as a spec reads it.</summary>
    public static CellGraph ShippedCell(string name) => Check(CellFileReader.ReadFile(Path.Combine(Experiments, "cells", name + ".yaml"), name));

    /// <summary>A cell written in the test, read and checked as a spec's cell.</summary>
    public static CellGraph Cell(string yaml, string name) => Check(CellFileReader.Parse(yaml, name + ".yaml", name));

    /// <summary>A network of <paramref name="engine"/> initialised by the one initialiser from the seed (identical on every engine).</summary>
    public static IRecurrentNetwork Build(string engine, RecurrentModelConfig config)
    {
        var net = ModelEngines.Create(engine, config);
        ParameterInit.Initialize(net, new Rng(Seed).Split("init"), T);
        return net;
    }

    public static float[] Input(int batch, int steps, int input, string stream)
    {
        var rng = new Rng(Seed).Split(stream);
        var x = new float[batch * steps * input];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)rng.NextGaussian();
        }

        return x;
    }

    public static int[] Labels(int batch, string stream)
    {
        var rng = new Rng(Seed).Split(stream);
        return Enumerable.Range(0, batch).Select(_ => rng.NextInt(C)).ToArray();
    }

    /// <summary>One batch's forward, cross-entropy and backward; the gradients land in the network's host buffers.</summary>
    public static void ForwardBackward(IRecurrentNetwork net)
    {
        var logits = new float[B * C];
        var dLogits = new float[B * C];
        net.Forward(Input(B, T, D, "x"), B, T, logits, training: true);
        Losses.SoftmaxCrossEntropy(logits, Labels(B, "y"), B, C, dLogits);
        net.Backward(dLogits);
    }

    /// <summary>50 Adam steps (lr 0.01, clipping at norm 5) over 5 alternating batches; the loss of each step.</summary>
    public static double[] Train(IRecurrentNetwork net)
    {
        var adam = new Adam(net.Parameters, lr: 0.01f);
        var losses = new double[50];
        var logits = new float[B * C];
        var dLogits = new float[B * C];
        for (int s = 0; s < losses.Length; s++)
        {
            var x = Input(B, T, D, $"x{s % 5}");
            var labels = Labels(B, $"y{s % 5}");
            net.Forward(x, B, T, logits, training: true);
            losses[s] = Losses.SoftmaxCrossEntropy(logits, labels, B, C, dLogits);
            net.Backward(dLogits);
            GradientClipping.ClipGlobalNorm(net.Parameters, 5f);
            adam.Step();
        }

        return losses;
    }

    /// <summary>Every element within <paramref name="tolerance"/> (absolute); the message names the element and the seed.</summary>
    public static void AssertClose(float[] expected, float[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double diff = Math.Abs(expected[i] - actual[i]);
            Assert.True(diff <= tolerance, $"{what} [{i}]: managed {expected[i]:R}, torch {actual[i]:R}, |Δ| {diff:E3} > {tolerance:E0} (seed {Seed})");
        }
    }

    /// <summary>
    /// Each tensor's gradients within 1e-4 relative to that tensor's largest gradient (single elements near 0 have no
    /// meaningful relative error), names and order equal, and every gradient tensor somewhere non-zero (a tensor autograd
    /// never reached would otherwise agree trivially with a zero managed gradient).
    /// </summary>
    public static void AssertGradientsClose(IRecurrentNetwork managed, IRecurrentNetwork torch, string what)
    {
        Assert.Equal(managed.Parameters.Count, torch.Parameters.Count);
        for (int i = 0; i < managed.Parameters.Count; i++)
        {
            var p = managed.Parameters[i];
            var q = torch.Parameters[i];
            Assert.Equal(p.Name, q.Name);
            double scale = Math.Max(p.Gradient.Max(Math.Abs), 1e-6);
            double worst = p.Gradient.Zip(q.Gradient, (u, v) => Math.Abs(u - v)).Max() / scale;
            Assert.True(worst <= 1e-4, $"{what} {p.Name}: max |Δgrad| / max|grad| = {worst:E3} (seed {Seed})");
            Assert.Contains(p.Gradient, g => g != 0f);
        }
    }

    /// <summary>Losses of the same steps within 1e-3 relative, and the managed loss fell (so the comparison covers learning).</summary>
    public static void AssertLossesClose(double[] managed, double[] torch, string what)
    {
        Assert.True(managed[^1] < managed[0], $"{what}: managed loss did not fall: {managed[0]} → {managed[^1]}");
        for (int s = 0; s < managed.Length; s++)
        {
            double rel = Math.Abs(managed[s] - torch[s]) / Math.Abs(managed[s]);
            Assert.True(rel <= 1e-3, $"{what} step {s}: managed {managed[s]:R}, torch {torch[s]:R}, relative {rel:E3} (seed {Seed})");
        }
    }

    private static CellGraph Check(CellCheckResult result) =>
        result.Graph ?? throw new InvalidOperationException(string.Join(Environment.NewLine, result.Diagnostics.Select(d => d.ToString())));
}
