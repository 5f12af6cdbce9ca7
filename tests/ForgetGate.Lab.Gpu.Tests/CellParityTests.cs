using ForgetGate.Lab.Core.Cells;
using ForgetGate.Lab.Gpu.Kernels;
using ForgetGate.Lab.Numerics.Cells;
using ForgetGate.Lab.Numerics.Losses;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Optim;
using ForgetGate.Lab.Numerics.Random;
using static ForgetGate.Lab.Gpu.Tests.ParityTests;

namespace ForgetGate.Lab.Gpu.Tests;

/// <summary>
/// Cell files on the gpu engine (the interpreted program of <see cref="CellPrograms"/>) against the managed engine's
/// generic cell layer, for every cell shipped in experiments/cells: same initial parameters, logits within 1e-4,
/// every gradient (weights, biases, per-unit cell parameters) within 1e-3 relative, the cell's forget gate, and a short
/// SGD-with-momentum trajectory; also a cell inside a sweep batch equals the same cell alone, bit for bit. Tolerances as in
/// <see cref="ParityTests"/> (float32 both sides, different exp and summation orders).
/// </summary>
public sealed class CellParityTests(DeviceFixture fixture) : IClassFixture<DeviceFixture>
{
    private const int Input = 6;
    private const int Hidden = 20;
    private const int Classes = 3;
    private const int Batch = 5;
    private const int Steps = 4;

    public static TheoryData<string> ShippedCells => [.. ShippedNames];

    private static IEnumerable<string> ShippedNames => Directory.GetFiles(Path.Combine(Experiments, "cells"), "*.yaml").Select(f => Path.GetFileNameWithoutExtension(f)).Order(StringComparer.Ordinal);

    private static string Experiments
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

    private static CellGraph Shipped(string name)
    {
        var result = CellFileReader.ReadFile(Path.Combine(Experiments, "cells", name + ".yaml"), name);
        return result.Graph ?? throw new InvalidOperationException(string.Join("; ", result.Diagnostics));
    }

    [Fact]
    public void ShippedCells_AreAllCovered()
    {
        // The five cells of DESIGN.md §4b; a new shipped file joins the theories below by itself.
        Assert.Superset(new HashSet<string>(["janet", "lstm-generic", "minlstm", "peephole", "slstm"]), ShippedNames.ToHashSet());
    }

    [Fact]
    public void ProgramOpCodes_AreTheCellOpValues()
    {
        // The kernel switches on ints; they must be CellOp's values.
        Assert.Equal((int)CellOp.Block, CellPrograms.OpBlock);
        Assert.Equal((int)CellOp.Constant, CellPrograms.OpConstant);
        Assert.Equal((int)CellOp.Divide, CellPrograms.OpDivide);
        Assert.Equal((int)CellOp.Sigmoid, CellPrograms.OpSigmoid);
        Assert.Equal((int)CellOp.LogSigmoid, CellPrograms.OpLogSigmoid);
        Assert.Equal((int)CellOp.Sqrt, CellPrograms.OpSqrt);
        Assert.Equal((int)CellOp.Where, CellPrograms.OpWhere);
        Assert.Equal(22, Enum.GetValues<CellOp>().Length);
        Assert.Equal(1, (int)CellComparison.GreaterOrEqual);
        Assert.Equal(4, (int)CellComparison.Less);
    }

    [Theory]
    [MemberData(nameof(ShippedCells))]
    public void ShippedCell_ForwardAndBackward_MatchManaged(string name)
    {
        var config = RecurrentModelConfig.ForCell(Shipped(name), Input, Hidden, 2, Classes);
        using var managed = NewModel(config, seed: 13);
        var (x, labels) = Data(seed: 14, runs: 1);
        var expected = new float[Batch * Classes];
        managed.Forward(x, Batch, Steps, expected, training: true);
        var dLogits = new float[Batch * Classes];
        Losses.SoftmaxCrossEntropy(expected, labels, Batch, Classes, dLogits);
        managed.Backward(dLogits);

        using var gpu = new GpuRecurrentBatch(fixture.Device, config, 1);
        gpu.SetParameters(0, managed.Parameters);
        var actual = new float[Batch * Classes];
        gpu.Forward(x, Batch, Steps, actual, training: true);
        AssertClose(expected, actual, 1e-4, $"{name} logits");

        gpu.Backward(dLogits);
        using var copy = new RecurrentModel(config);
        gpu.GetGradients(0, copy.Parameters);
        for (int p = 0; p < copy.Parameters.Count; p++)
        {
            if (copy.Parameters[p].Length > 0)
            {
                AssertRelative(managed.Parameters[p].Gradient, copy.Parameters[p].Gradient, 1e-3, $"{name} {managed.Parameters[p].Name}");
            }
        }

        for (int layer = 0; layer < 2; layer++)
        {
            var gates = new float[Steps * Batch * Hidden];
            managed.CopyForgetGates(layer, gates);
            AssertClose(gates, gpu.CopyForgetGates(0, layer), 1e-5, $"{name} forget gate l{layer}");
        }
    }

    [Theory]
    [MemberData(nameof(ShippedCells))]
    public void ShippedCell_SgdTrajectory_StaysCloseToManaged_AndBatchOfThreeEqualsAlone(string name)
    {
        var config = RecurrentModelConfig.ForCell(Shipped(name), Input, Hidden, 1, Classes);
        using var managed = NewModel(config, seed: 23);
        // SGD with momentum, not Adam: Adam's first steps move a parameter by about lr·sign(g) whatever |g|, so an
        // element whose gradient is near zero can step either way in two float32 engines (seen: 8e-4 apart after 4
        // steps at lr 0.01 for slstm); SGD's steps are proportional to g, so the comparison measures the engines.
        var sgd = new Sgd(managed.Parameters, lr: 0.1f, momentum: 0.9f);
        using var alone = new GpuRecurrentBatch(fixture.Device, config, 1);
        using var batch = new GpuRecurrentBatch(fixture.Device, config, 3);
        alone.SetParameters(0, managed.Parameters);
        for (int r = 0; r < 3; r++)
        {
            using var other = NewModel(config, seed: 30 + (ulong)r);
            batch.SetParameters(r, r == 1 ? managed.Parameters : other.Parameters);
        }

        alone.UseSgd([new OptimizerSettings(0.1f, Momentum: 0.9f)]);
        batch.UseSgd([new OptimizerSettings(0.2f, Momentum: 0.5f), new OptimizerSettings(0.1f, Momentum: 0.9f), new OptimizerSettings(0.05f)]);
        var logits = new float[Batch * Classes];
        var dLogits = new float[Batch * Classes];
        var lossAlone = new float[1];
        var lossBatch = new float[3];
        int sample = Batch * Steps * Input;
        for (int step = 0; step < 4; step++)
        {
            var (x, labels) = Data(seed: 500 + (ulong)step, runs: 3);
            var x1 = x.AsSpan(sample, sample).ToArray();
            var labels1 = labels.AsSpan(Batch, Batch).ToArray();
            managed.Forward(x1, Batch, Steps, logits, training: true);
            float expectedLoss = Losses.SoftmaxCrossEntropy(logits, labels1, Batch, Classes, dLogits);
            managed.Backward(dLogits);
            sgd.Step();
            alone.TrainStep(x1, labels1, Batch, Steps, clipNorm: null, lossAlone);
            batch.TrainStep(x, labels, Batch, Steps, clipNorm: null, lossBatch);
            Assert.True(Math.Abs(expectedLoss - lossAlone[0]) <= 1e-4, $"{name} step {step}: loss {lossAlone[0]} vs managed {expectedLoss}");
            Assert.Equal(BitConverter.SingleToInt32Bits(lossAlone[0]), BitConverter.SingleToInt32Bits(lossBatch[1]));
        }

        using var a = new RecurrentModel(config);
        using var b = new RecurrentModel(config);
        alone.GetParameters(0, a.Parameters);
        batch.GetParameters(1, b.Parameters);
        for (int p = 0; p < a.Parameters.Count; p++)
        {
            AssertClose(managed.Parameters[p].Value, a.Parameters[p].Value, 1e-4, $"{name} {a.Parameters[p].Name}");
            Assert.Equal(a.Parameters[p].Value, b.Parameters[p].Value);
        }
    }
}
