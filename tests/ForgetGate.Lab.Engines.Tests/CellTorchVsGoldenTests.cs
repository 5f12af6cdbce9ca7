using ForgetGate.Lab.Numerics.Engines;
using ForgetGate.Lab.Numerics.Losses;
using ForgetGate.Lab.Numerics.Serialization;
using ForgetGate.Lab.Torch;

namespace ForgetGate.Lab.Engines.Tests;

/// <summary>
/// The torch engine's cell files against PyTorch 1.13 (the Numerics tests' goldens, written by
/// tests/ForgetGate.Lab.Numerics.Tests/Golden/data/make_cell_goldens.py from DESIGN.md §4b's equations, each cell
/// written in PyTorch directly and differentiated by its autograd): logits, loss and every gradient from the
/// checkpoint PyTorch wrote (H = 13 with 1 layer and B = 1; H = 5 with 2 layers and B = 3). With
/// <see cref="CellAutogradParityTests"/> this closes the triangle: managed ↔ torch engine, managed ↔ PyTorch 1.13 (the
/// Numerics tests), torch engine ↔ PyTorch 1.13 (here), each pair computed by different code.
/// </summary>
public sealed class CellTorchVsGoldenTests
{
    // Both sides float32 autograd over the same equations in a different op order (make_cell_goldens.py: PyTorch's
    // float32 is within 6.5e-7 of float64 for these cells), so 1e-5 of each tensor's largest element is the bound the
    // managed side's golden test uses too; a wrong equation or a lost gradient path is off by ≥ 1e-2.
    private const double Tolerance = 1e-5;

    public CellTorchVsGoldenTests() => ModelEngines.Register(TorchEngine.Instance);

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string cell in Parity.ShippedCells)
        {
            data.Add(cell, "h13_l1_b1");
            data.Add(cell, "h5_l2_b3");
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void TorchEngine_ShippedCell_MatchesPyTorchGoldenLogitsLossAndGradients(string cell, string shape)
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "golden");
        using var model = ModelCheckpoint.Load(Path.Combine(dir, $"cell_ckpt_{cell}_{shape}.safetensors"), "torch");
        Assert.Equal(cell, model.Config.Cell?.Name);
        var golden = SafetensorsFile.Read(Path.Combine(dir, $"cell_golden_{cell}_{shape}.safetensors"));
        var input = golden.Get("input");
        int batch = input.Shape[0], steps = input.Shape[1];
        int classes = model.Config.Outputs;
        var logits = new float[batch * classes];
        var dLogits = new float[batch * classes];
        model.Forward(input.AsFloat32(), batch, steps, logits, training: true);
        Close(golden.GetFloat32("logits"), logits, $"{cell} {shape} logits");
        float loss = Losses.SoftmaxCrossEntropy(logits, golden.Get("labels").AsInt32(), batch, classes, dLogits);
        Close(golden.GetFloat32("loss"), [loss], $"{cell} {shape} loss");
        model.Backward(dLogits);
        foreach (var p in model.Parameters)
        {
            Close(golden.GetFloat32("grad/" + p.Name, [.. p.Shape]), p.Gradient, $"{cell} {shape} grad {p.Name}");
        }
    }

    private static void Close(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = Math.Max(1e-6, expected.Max(v => Math.Abs((double)v)));
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(expected[i] - (double)actual[i]) / scale;
            Assert.True(err <= Tolerance, $"{what} [{i}]: torch engine {actual[i]:R}, PyTorch 1.13 {expected[i]:R}, error {err:E2} of the largest element");
        }
    }
}
