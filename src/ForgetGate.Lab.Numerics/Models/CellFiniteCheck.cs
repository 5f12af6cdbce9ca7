using System.Globalization;
using System.Runtime.Intrinsics;
using ForgetGate.Lab.Numerics.Cells;

namespace ForgetGate.Lab.Numerics.Models;

/// <summary>
/// After a cell layer's forward: every new h and state finite, or a <see cref="CellNonFiniteException"/> naming the
/// first step, row, unit and the expression that went non-finite there (found by evaluating that step again). A cell
/// file can divide by zero or overflow exp where a built-in cannot, and silent NaN metrics would hide it.
/// </summary>
internal static class CellFiniteCheck
{
    public static void Check(RecurrentLayer layer, int layerIndex, int batch, int steps)
    {
        int hp = layer.Hp;
        int s = layer.S;
        if (AllFinite(layer.Hs.AsSpan(batch * hp, steps * batch * hp)) && AllFinite(layer.St.AsSpan(batch * s * hp, steps * batch * s * hp)))
        {
            return;
        }

        for (int t = 1; t <= steps; t++)
        {
            for (int b = 0; b < batch; b++)
            {
                int row = (t * batch) + b;
                for (int u = 0; u < layer.H; u++)
                {
                    bool bad = !float.IsFinite(layer.Hs[(row * hp) + u]);
                    for (int k = 0; k < s && !bad; k++)
                    {
                        bad = !float.IsFinite(layer.St[(((row * s) + k) * hp) + u]);
                    }

                    if (bad)
                    {
                        Throw(layer, layerIndex, batch, t, b, u);
                    }
                }
            }
        }
    }

    private static bool AllFinite(ReadOnlySpan<float> x)
    {
        // Non-finite values survive x − x as NaN.
        var acc = Vector256<float>.Zero;
        int i = 0;
        for (; i + 8 <= x.Length; i += 8)
        {
            var v = Vector256.Create(x.Slice(i, 8));
            acc += v - v;
        }

        float tail = 0f;
        for (; i < x.Length; i++)
        {
            tail += x[i] - x[i];
        }

        return !float.IsNaN(Vector256.Sum(acc) + tail);
    }

    private static void Throw(RecurrentLayer layer, int layerIndex, int batch, int t, int b, int u)
    {
        var program = layer.Program!;
        var graph = program.Graph;
        var v = new float[2 * program.NodeCount * layer.Hp];
        layer.CellStep(t, batch, b, 0, layer.Tiles, v);
        int culprit = graph.HiddenOutput;
        for (int i = 0; i < program.NodeCount; i++)
        {
            if (!float.IsFinite(v[(i * layer.Hp) + u]))
            {
                culprit = i;
                break;
            }
        }

        string line = graph.LineOf(culprit);
        string inputs = string.Join(", ", Enumerable.Range(0, graph.InputCount)
            .Select(i => $"{graph.Describe(i)} = {v[(i * layer.Hp) + u].ToString("G6", CultureInfo.InvariantCulture)}"));
        throw new CellNonFiniteException(
            $"Cell '{graph.Name}' went non-finite in layer {layerIndex} at time step {t - 1}, batch row {b}, unit {u}: " +
            $"{line} gave {v[(culprit * layer.Hp) + u].ToString(CultureInfo.InvariantCulture)} (its inputs there: {inputs}).")
        {
            Expression = line,
        };
    }
}
