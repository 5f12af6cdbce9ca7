using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ForgetGate.Lab.Numerics.Kernels;

namespace ForgetGate.Lab.Numerics.Models;

/// <summary>The inference step: one block of batch rows through one time step, with no per-step activations kept.</summary>
internal sealed partial class RecurrentLayer
{
    private const int GroupRows = 8;   // rows of MatMul's micro-kernel tile

    /// <summary>
    /// Floats of block state this layer needs for <paramref name="rows"/> rows (a multiple of 8): h twice (the step reads
    /// one and writes the other), c (not GRU), and one 8-row Z tile (the GRU's W_hh·h tile beside it). A cell file's layer
    /// keeps h twice, its S states, and its program's node values for one 8-row, 16-unit tile
    /// (<see cref="CellTileValues"/> per node).
    /// </summary>
    public int InferenceScratch(int rows) => Cell is not null
        ? (rows * Hp * (2 + S)) + (Program!.NodeCount * CellTileValues)
        : (rows * Hp * (IsGru ? 2 : 3)) + (GroupRows * G * U * (IsGru ? 2 : 1));

    /// <summary>The block's hidden state after <paramref name="steps"/> steps (in the first or second h buffer).</summary>
    public Span<float> InferenceHidden(Span<float> scratch, int rows, int steps) => scratch.Slice((steps % 2) * rows * Hp, rows * Hp);

    /// <summary>
    /// Step <paramref name="t"/> (0-based) for <paramref name="rows"/> batch rows (a multiple of 8, padding rows
    /// included: they compute on zero input and are never read back). For each 16-unit tile and each group of 8 rows,
    /// the tile's G gate blocks are computed in registers, b + x·W_ihᵀ then + h·W_hhᵀ (the GRU keeps W_hh·h apart;
    /// <see cref="InferenceTile"/>), stored once into an L1-resident Z tile, and the cell runs on it at once, while the
    /// tile's weight panels are still in L1 for the next group of rows. Nothing of the step goes to memory but h and c. Each value is the same FMA chain as in
    /// <see cref="ForwardSteps(float[], int, int, int, int, int, int, int, SpinBarrier?)"/>, so inference and
    /// training give bit-identical outputs for any block size, batch split and thread count.
    /// </summary>
    /// <param name="x">Row 0's input at this step; row r's is at r·<paramref name="xRow"/>.</param>
    /// <param name="block">The worker's block scratch; this layer's state is <see cref="InferenceScratch"/> floats from <paramref name="offset"/>.</param>
    /// <param name="offset">Where this layer's state starts in <paramref name="block"/>.</param>
    /// <returns>False when a cell file's step produced a non-finite h or state (built-ins: always true).</returns>
    public bool InferStep(ReadOnlySpan<float> x, int xRow, int rows, int t, float[] block, int offset)
    {
        // The kernels read through refs: every access is inside these bounds.
        if (rows <= 0 || rows % GroupRows != 0 || x.Length < ((long)(rows - 1) * xRow) + Dp || offset < 0 || block.Length - (long)offset < InferenceScratch(Math.Max(rows, 0)))
        {
            ThrowHelper.ThrowArgument($"InferStep needs a positive multiple of {GroupRows} rows, x of (rows − 1)·xRow + {Dp} and scratch of {InferenceScratch(Math.Max(rows, 0))} floats; got rows {rows}, x {x.Length}, scratch {block.Length - (long)offset}.", nameof(rows));
        }

        if (Program is not null)
        {
            return InferCellStep(x, xRow, rows, t, block, offset);
        }

        var scratch = block.AsSpan(offset, InferenceScratch(rows));
        if (MatMul.UseWide)
        {
            InferStep<Lanes512>(x, xRow, rows, t, scratch);
        }
        else
        {
            InferStep<Lanes256>(x, xRow, rows, t, scratch);
        }

        return true;
    }

    private void InferStep<T>(ReadOnlySpan<float> x, int xRow, int rows, int t, Span<float> scratch)
        where T : struct, ILanes<T>
    {
        int hLength = rows * Hp;
        int ldz = G * U;
        ref float s0 = ref MemoryMarshal.GetReference(scratch);
        ref float hPrev0 = ref Unsafe.Add(ref s0, (t % 2) * hLength);
        ref float hNext0 = ref Unsafe.Add(ref s0, ((t + 1) % 2) * hLength);
        ref float c0 = ref Unsafe.Add(ref s0, 2 * hLength);
        ref float z0 = ref Unsafe.Add(ref s0, (IsGru ? 2 : 3) * hLength);
        ref float hh0 = ref IsGru ? ref Unsafe.Add(ref z0, GroupRows * ldz) : ref z0;
        ref float x0 = ref MemoryMarshal.GetReference(x);
        ref float wih0 = ref MemoryMarshal.GetArrayDataReference(WihT);
        ref float whh0 = ref MemoryMarshal.GetArrayDataReference(WhhT);
        ref float bias0 = ref MemoryMarshal.GetArrayDataReference(BiasX);
        ref float bn0 = ref MemoryMarshal.GetArrayDataReference(BiasHn);
        bool wide = MatMul.UseWide;
        for (int tile = 0; tile < Tiles; tile++)
        {
            int col0 = tile * ldz;
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
                    if (wide && ldz - j > U)
                    {
                        InferenceTile.Step8x32(Dp, ref xr, xRow, ref bx, (nint)Dp * U, Hp, ref hr, Hp, ref bh, (nint)Hp * U,
                            ref bias, ref Unsafe.Add(ref z0, j), ref Unsafe.Add(ref hh0, j), ldz, IsGru);
                        j += 2 * U;
                    }
                    else
                    {
                        InferenceTile.Step8x16(Dp, ref xr, xRow, ref bx, Hp, ref hr, Hp, ref bh,
                            ref bias, ref Unsafe.Add(ref z0, j), ref Unsafe.Add(ref hh0, j), ldz, IsGru);
                        j += U;
                    }
                }

                // c is updated in place (each lane reads c before writing it, and only this tile touches its units);
                // h goes to the other buffer, since later tiles of this step still read h_{t-1}.
                for (int b = 0; b < GroupRows; b++)
                {
                    nint hi = ((nint)(r + b) * Hp) + (tile * U);
                    ref float zt = ref Unsafe.Add(ref z0, b * ldz);
                    ref float ct = ref Unsafe.Add(ref c0, hi);
                    ref float hNext = ref Unsafe.Add(ref hNext0, hi);
                    switch (Variant)
                    {
                        case Variant.Gru:
                            GruCell.Forward<T>(ref zt, ref Unsafe.Add(ref hh0, b * ldz), ref Unsafe.Add(ref bn0, col0 + (2 * U)), ref Unsafe.Add(ref hPrev0, hi), ref hNext);
                            break;
                        case Variant.Cifg:
                            CifgCell.Forward<T>(ref zt, ref ct, ref ct, ref hNext);
                            break;
                        case Variant.UrLstm:
                            UrLstmCell.Forward<T>(ref zt, ref ct, ref ct, ref hNext);
                            break;
                        default:
                            LstmCell.Forward<T>(ref zt, ref ct, ref ct, ref hNext);
                            break;
                    }
                }
            }
        }
    }
}
