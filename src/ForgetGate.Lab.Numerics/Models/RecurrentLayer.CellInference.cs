using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ForgetGate.Lab.Numerics.Cells;
using ForgetGate.Lab.Numerics.Kernels;

namespace ForgetGate.Lab.Numerics.Models;

/// <summary>The inference step of a cell file's layer: the built-ins' product tiles, then the cell's program per tile.</summary>
internal sealed partial class RecurrentLayer
{
    /// <summary>Values per node of a cell tile: 8 rows × 16 units, laid out [row, unit].</summary>
    private const int CellTileValues = GroupRows * U;

    /// <summary>
    /// One step of a cell file's layer for a block of rows (see <see cref="InferStep"/>). For each 16-unit tile and each
    /// group of 8 rows, <see cref="InferenceTile"/> computes the tile's gate blocks in registers (b + x·W_ihᵀ, then
    /// + h·W_hhᵀ unless no block is recurrent, as the training forward skips that product) and stores each block straight
    /// into its node's slab of the program's values, laid out node-major [node, 8 rows · 16 units]; h, the states and the
    /// params of the tile join them, and <see cref="CellProgram.Forward"/> evaluates every node over all 128 values in one
    /// pass per node. A row's values are the training forward's to the bit: the same FMA chains for the products, and the
    /// program's operations are elementwise, so where a unit sits in the tile changes nothing.
    /// </summary>
    /// <remarks>
    /// Layer scratch: h twice [rows, Hp] (read one, write the other: later tiles of the step still read h_{t−1}), the
    /// states [rows, S, Hp] updated in place (a tile reads only its own units, all of them loaded before any is
    /// written), then the node values. Padded units are kept at exactly 0, as in training (0·NaN in the products would
    /// poison real units). Returns false when any new h or state is non-finite, so the caller can name it.
    /// </remarks>
    private bool InferCellStep(ReadOnlySpan<float> x, int xRow, int rows, int t, float[] block, int offset)
    {
        var program = Program!;
        var graph = program.Graph;
        int hLength = rows * Hp;
        int stateRow = S * Hp;
        int ldz = G * U;
        int kh = R > 0 ? Hp : 0;
        int vOffset = offset + ((2 + S) * hLength);
        int paramCount = CellParams.Length;
        int hiddenOutput = graph.HiddenOutput;
        int hiddenNode = graph.HiddenNode;
        int padFrom = H - ((Tiles - 1) * U); // units of the last tile at or past this one are padding
        ref float s0 = ref MemoryMarshal.GetArrayDataReference(block);
        ref float hPrev0 = ref Unsafe.Add(ref s0, offset + ((t % 2) * hLength));
        ref float hNext0 = ref Unsafe.Add(ref s0, offset + (((t + 1) % 2) * hLength));
        ref float st0 = ref Unsafe.Add(ref s0, offset + (2 * hLength));
        ref float v0 = ref Unsafe.Add(ref s0, vOffset);
        ref float x0 = ref MemoryMarshal.GetReference(x);
        ref float wih0 = ref MemoryMarshal.GetArrayDataReference(WihT);
        ref float whh0 = ref MemoryMarshal.GetArrayDataReference(WhhT);
        ref float bias0 = ref MemoryMarshal.GetArrayDataReference(BiasX);
        ref float param0 = ref MemoryMarshal.GetArrayDataReference(ParamValues);
        bool wide = MatMul.UseWide;
        var check = Vector256<float>.Zero;
        for (int tile = 0; tile < Tiles; tile++)
        {
            int col0 = tile * ldz;
            int u0 = tile * U;
            bool padded = tile == Tiles - 1 && padFrom < U;
            for (int r = 0; r < rows; r += GroupRows)
            {
                ref float xr = ref Unsafe.Add(ref x0, (nint)r * xRow);
                ref float hr = ref Unsafe.Add(ref hPrev0, (nint)r * Hp);
                for (int j = 0; j < ldz;)
                {
                    int col = col0 + j;
                    ref float bx = ref Unsafe.Add(ref wih0, (nint)(col / U) * Dp * U);
                    ref float bh = ref Unsafe.Add(ref whh0, (nint)(col / U) * Hp * U);
                    ref float bias = ref Unsafe.Add(ref bias0, col);
                    ref float slab = ref Unsafe.Add(ref v0, CellGraph.BlockNode(j / U) * CellTileValues);
                    if (wide && ldz - j > U)
                    {
                        // Blocks g and g + 1: their slabs are adjacent nodes, CellTileValues apart.
                        InferenceTile.Step8x32(Dp, ref xr, xRow, ref bx, (nint)Dp * U, kh, ref hr, Hp, ref bh, (nint)Hp * U,
                            ref bias, ref slab, ref slab, U, separate: false, zNext: CellTileValues);
                        j += 2 * U;
                    }
                    else
                    {
                        InferenceTile.Step8x16(Dp, ref xr, xRow, ref bx, kh, ref hr, Hp, ref bh, ref bias, ref slab, ref slab, U, separate: false);
                        j += U;
                    }
                }

                for (int b = 0; b < GroupRows; b++)
                {
                    nint unit = ((nint)(r + b) * Hp) + u0;
                    nint at = b * U;
                    Copy16(ref Unsafe.Add(ref hPrev0, unit), ref Unsafe.Add(ref v0, (hiddenNode * CellTileValues) + at));
                    for (int s = 0; s < S; s++)
                    {
                        Copy16(ref Unsafe.Add(ref st0, ((nint)(r + b) * stateRow) + (s * Hp) + u0), ref Unsafe.Add(ref v0, (graph.StateNode(s) * CellTileValues) + at));
                    }

                    for (int p = 0; p < paramCount; p++)
                    {
                        Copy16(ref Unsafe.Add(ref param0, (p * Hp) + u0), ref Unsafe.Add(ref v0, (graph.ParamNode(p) * CellTileValues) + at));
                    }
                }

                program.Forward(block, CellTileValues, vOffset, vOffset + CellTileValues);

                for (int b = 0; b < GroupRows; b++)
                {
                    nint at = b * U;
                    ref float hOut = ref Unsafe.Add(ref hNext0, ((nint)(r + b) * Hp) + u0);
                    Copy16(ref Unsafe.Add(ref v0, (hiddenOutput * CellTileValues) + at), ref hOut);
                    if (padded)
                    {
                        MemoryMarshal.CreateSpan(ref Unsafe.Add(ref hOut, padFrom), U - padFrom).Clear();
                    }

                    check = Accumulate(check, ref hOut);
                    for (int s = 0; s < S; s++)
                    {
                        ref float sOut = ref Unsafe.Add(ref st0, ((nint)(r + b) * stateRow) + (s * Hp) + u0);
                        Copy16(ref Unsafe.Add(ref v0, (graph.StateOutputs[s] * CellTileValues) + at), ref sOut);
                        if (padded)
                        {
                            MemoryMarshal.CreateSpan(ref Unsafe.Add(ref sOut, padFrom), U - padFrom).Clear();
                        }

                        check = Accumulate(check, ref sOut);
                    }
                }
            }
        }

        // Non-finite values survive v − v as NaN, and NaN survives every sum.
        return !float.IsNaN(Vector256.Sum(check));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Copy16(ref float from, ref float to)
    {
        Vector256.LoadUnsafe(ref from).StoreUnsafe(ref to);
        Vector256.LoadUnsafe(ref from, 8).StoreUnsafe(ref to, 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Accumulate(Vector256<float> check, ref float values)
    {
        var a = Vector256.LoadUnsafe(ref values);
        var b = Vector256.LoadUnsafe(ref values, 8);
        return check + (a - a) + (b - b);
    }
}
