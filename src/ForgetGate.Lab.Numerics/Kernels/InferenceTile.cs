using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ForgetGate.Lab.Numerics.Kernels;

/// <summary>
/// The inference step's tile products: the input and the recurrent product of 8 batch rows for 32 (or 16) gate
/// columns in one register tile, so Z leaves the registers once, into the small L1 tile the cell reads next.
/// Element for element the FMA chain is <see cref="MatMul"/>'s (bias, then x·W_ihᵀ over p in order, then h·W_hhᵀ),
/// so the values are bit-identical to the training forward's two products.
/// </summary>
internal static class InferenceTile
{
    private const int W = Panels.Width;

    /// <summary>
    /// Z[8, 32] (leading dimension ldz) = bias + x[8, kx]·Bx + h[8, kh]·Bh over two adjacent panels of each B: one FMA
    /// chain per element, x first, then h. With <paramref name="separate"/> (the GRU) the h part starts from 0 and goes
    /// to <paramref name="zh"/> instead. The second 16 columns go <paramref name="zNext"/> floats after the first (16 for
    /// a row-major tile; a cell file's tile puts each gate block in its own node-major slab instead).
    /// </summary>
    public static void Step8x32(
        int kx, ref float x, nint xRow, ref float bx, nint xPanel,
        int kh, ref float h, nint hRow, ref float bh, nint hPanel,
        ref float bias, ref float z, ref float zh, nint ldz, bool separate, nint zNext = 16)
    {
        var lo = Vector512.LoadUnsafe(ref bias);
        var hi = Vector512.LoadUnsafe(ref bias, 16);
        Vector512<float> c00 = lo, c01 = hi, c10 = lo, c11 = hi, c20 = lo, c21 = hi, c30 = lo, c31 = hi, c40 = lo, c41 = hi, c50 = lo, c51 = hi, c60 = lo, c61 = hi, c70 = lo, c71 = hi;
        Vector512<float> av;
        for (int p = 0; p < kx; p++)
        {
            var b0 = Vector512.LoadUnsafe(ref bx);
            var b1 = Vector512.LoadUnsafe(ref bx, (nuint)xPanel);
            av = Vector512.Create(x);
            c00 = Vector512.FusedMultiplyAdd(av, b0, c00);
            c01 = Vector512.FusedMultiplyAdd(av, b1, c01);
            av = Vector512.Create(Unsafe.Add(ref x, xRow));
            c10 = Vector512.FusedMultiplyAdd(av, b0, c10);
            c11 = Vector512.FusedMultiplyAdd(av, b1, c11);
            av = Vector512.Create(Unsafe.Add(ref x, 2 * xRow));
            c20 = Vector512.FusedMultiplyAdd(av, b0, c20);
            c21 = Vector512.FusedMultiplyAdd(av, b1, c21);
            av = Vector512.Create(Unsafe.Add(ref x, 3 * xRow));
            c30 = Vector512.FusedMultiplyAdd(av, b0, c30);
            c31 = Vector512.FusedMultiplyAdd(av, b1, c31);
            av = Vector512.Create(Unsafe.Add(ref x, 4 * xRow));
            c40 = Vector512.FusedMultiplyAdd(av, b0, c40);
            c41 = Vector512.FusedMultiplyAdd(av, b1, c41);
            av = Vector512.Create(Unsafe.Add(ref x, 5 * xRow));
            c50 = Vector512.FusedMultiplyAdd(av, b0, c50);
            c51 = Vector512.FusedMultiplyAdd(av, b1, c51);
            av = Vector512.Create(Unsafe.Add(ref x, 6 * xRow));
            c60 = Vector512.FusedMultiplyAdd(av, b0, c60);
            c61 = Vector512.FusedMultiplyAdd(av, b1, c61);
            av = Vector512.Create(Unsafe.Add(ref x, 7 * xRow));
            c70 = Vector512.FusedMultiplyAdd(av, b0, c70);
            c71 = Vector512.FusedMultiplyAdd(av, b1, c71);
            x = ref Unsafe.Add(ref x, 1);
            bx = ref Unsafe.Add(ref bx, W);
        }

        if (separate)
        {
            c00.StoreUnsafe(ref z, 0);
            c01.StoreUnsafe(ref z, (nuint)zNext);
            c10.StoreUnsafe(ref z, (nuint)ldz);
            c11.StoreUnsafe(ref z, (nuint)(ldz + zNext));
            c20.StoreUnsafe(ref z, (nuint)(2 * ldz));
            c21.StoreUnsafe(ref z, (nuint)((2 * ldz) + zNext));
            c30.StoreUnsafe(ref z, (nuint)(3 * ldz));
            c31.StoreUnsafe(ref z, (nuint)((3 * ldz) + zNext));
            c40.StoreUnsafe(ref z, (nuint)(4 * ldz));
            c41.StoreUnsafe(ref z, (nuint)((4 * ldz) + zNext));
            c50.StoreUnsafe(ref z, (nuint)(5 * ldz));
            c51.StoreUnsafe(ref z, (nuint)((5 * ldz) + zNext));
            c60.StoreUnsafe(ref z, (nuint)(6 * ldz));
            c61.StoreUnsafe(ref z, (nuint)((6 * ldz) + zNext));
            c70.StoreUnsafe(ref z, (nuint)(7 * ldz));
            c71.StoreUnsafe(ref z, (nuint)((7 * ldz) + zNext));
            c00 = Vector512<float>.Zero;
            c01 = Vector512<float>.Zero;
            c10 = Vector512<float>.Zero;
            c11 = Vector512<float>.Zero;
            c20 = Vector512<float>.Zero;
            c21 = Vector512<float>.Zero;
            c30 = Vector512<float>.Zero;
            c31 = Vector512<float>.Zero;
            c40 = Vector512<float>.Zero;
            c41 = Vector512<float>.Zero;
            c50 = Vector512<float>.Zero;
            c51 = Vector512<float>.Zero;
            c60 = Vector512<float>.Zero;
            c61 = Vector512<float>.Zero;
            c70 = Vector512<float>.Zero;
            c71 = Vector512<float>.Zero;
        }

        for (int p = 0; p < kh; p++)
        {
            var b0 = Vector512.LoadUnsafe(ref bh);
            var b1 = Vector512.LoadUnsafe(ref bh, (nuint)hPanel);
            av = Vector512.Create(h);
            c00 = Vector512.FusedMultiplyAdd(av, b0, c00);
            c01 = Vector512.FusedMultiplyAdd(av, b1, c01);
            av = Vector512.Create(Unsafe.Add(ref h, hRow));
            c10 = Vector512.FusedMultiplyAdd(av, b0, c10);
            c11 = Vector512.FusedMultiplyAdd(av, b1, c11);
            av = Vector512.Create(Unsafe.Add(ref h, 2 * hRow));
            c20 = Vector512.FusedMultiplyAdd(av, b0, c20);
            c21 = Vector512.FusedMultiplyAdd(av, b1, c21);
            av = Vector512.Create(Unsafe.Add(ref h, 3 * hRow));
            c30 = Vector512.FusedMultiplyAdd(av, b0, c30);
            c31 = Vector512.FusedMultiplyAdd(av, b1, c31);
            av = Vector512.Create(Unsafe.Add(ref h, 4 * hRow));
            c40 = Vector512.FusedMultiplyAdd(av, b0, c40);
            c41 = Vector512.FusedMultiplyAdd(av, b1, c41);
            av = Vector512.Create(Unsafe.Add(ref h, 5 * hRow));
            c50 = Vector512.FusedMultiplyAdd(av, b0, c50);
            c51 = Vector512.FusedMultiplyAdd(av, b1, c51);
            av = Vector512.Create(Unsafe.Add(ref h, 6 * hRow));
            c60 = Vector512.FusedMultiplyAdd(av, b0, c60);
            c61 = Vector512.FusedMultiplyAdd(av, b1, c61);
            av = Vector512.Create(Unsafe.Add(ref h, 7 * hRow));
            c70 = Vector512.FusedMultiplyAdd(av, b0, c70);
            c71 = Vector512.FusedMultiplyAdd(av, b1, c71);
            h = ref Unsafe.Add(ref h, 1);
            bh = ref Unsafe.Add(ref bh, W);
        }

        ref float target = ref separate ? ref zh : ref z;
        c00.StoreUnsafe(ref target, 0);
        c01.StoreUnsafe(ref target, (nuint)zNext);
        c10.StoreUnsafe(ref target, (nuint)ldz);
        c11.StoreUnsafe(ref target, (nuint)(ldz + zNext));
        c20.StoreUnsafe(ref target, (nuint)(2 * ldz));
        c21.StoreUnsafe(ref target, (nuint)((2 * ldz) + zNext));
        c30.StoreUnsafe(ref target, (nuint)(3 * ldz));
        c31.StoreUnsafe(ref target, (nuint)((3 * ldz) + zNext));
        c40.StoreUnsafe(ref target, (nuint)(4 * ldz));
        c41.StoreUnsafe(ref target, (nuint)((4 * ldz) + zNext));
        c50.StoreUnsafe(ref target, (nuint)(5 * ldz));
        c51.StoreUnsafe(ref target, (nuint)((5 * ldz) + zNext));
        c60.StoreUnsafe(ref target, (nuint)(6 * ldz));
        c61.StoreUnsafe(ref target, (nuint)((6 * ldz) + zNext));
        c70.StoreUnsafe(ref target, (nuint)(7 * ldz));
        c71.StoreUnsafe(ref target, (nuint)((7 * ldz) + zNext));
    }

    /// <summary>
    /// Z[8, 16] (leading dimension ldz) = bias + x[8, kx]·Bx + h[8, kh]·Bh over one panel of each B, 256 bits wide: one FMA
    /// chain per element, x first, then h. With <paramref name="separate"/> (the GRU) the h part starts from 0 and goes
    /// to <paramref name="zh"/> instead.
    /// </summary>
    public static void Step8x16(
        int kx, ref float x, nint xRow, ref float bx,
        int kh, ref float h, nint hRow, ref float bh,
        ref float bias, ref float z, ref float zh, nint ldz, bool separate)
    {
        var lo = Vector256.LoadUnsafe(ref bias);
        var hi = Vector256.LoadUnsafe(ref bias, 8);
        Vector256<float> c00 = lo, c01 = hi, c10 = lo, c11 = hi, c20 = lo, c21 = hi, c30 = lo, c31 = hi, c40 = lo, c41 = hi, c50 = lo, c51 = hi, c60 = lo, c61 = hi, c70 = lo, c71 = hi;
        Vector256<float> av;
        for (int p = 0; p < kx; p++)
        {
            var b0 = Vector256.LoadUnsafe(ref bx);
            var b1 = Vector256.LoadUnsafe(ref bx, 8);
            av = Vector256.Create(x);
            c00 = Vector256.FusedMultiplyAdd(av, b0, c00);
            c01 = Vector256.FusedMultiplyAdd(av, b1, c01);
            av = Vector256.Create(Unsafe.Add(ref x, xRow));
            c10 = Vector256.FusedMultiplyAdd(av, b0, c10);
            c11 = Vector256.FusedMultiplyAdd(av, b1, c11);
            av = Vector256.Create(Unsafe.Add(ref x, 2 * xRow));
            c20 = Vector256.FusedMultiplyAdd(av, b0, c20);
            c21 = Vector256.FusedMultiplyAdd(av, b1, c21);
            av = Vector256.Create(Unsafe.Add(ref x, 3 * xRow));
            c30 = Vector256.FusedMultiplyAdd(av, b0, c30);
            c31 = Vector256.FusedMultiplyAdd(av, b1, c31);
            av = Vector256.Create(Unsafe.Add(ref x, 4 * xRow));
            c40 = Vector256.FusedMultiplyAdd(av, b0, c40);
            c41 = Vector256.FusedMultiplyAdd(av, b1, c41);
            av = Vector256.Create(Unsafe.Add(ref x, 5 * xRow));
            c50 = Vector256.FusedMultiplyAdd(av, b0, c50);
            c51 = Vector256.FusedMultiplyAdd(av, b1, c51);
            av = Vector256.Create(Unsafe.Add(ref x, 6 * xRow));
            c60 = Vector256.FusedMultiplyAdd(av, b0, c60);
            c61 = Vector256.FusedMultiplyAdd(av, b1, c61);
            av = Vector256.Create(Unsafe.Add(ref x, 7 * xRow));
            c70 = Vector256.FusedMultiplyAdd(av, b0, c70);
            c71 = Vector256.FusedMultiplyAdd(av, b1, c71);
            x = ref Unsafe.Add(ref x, 1);
            bx = ref Unsafe.Add(ref bx, W);
        }

        if (separate)
        {
            c00.StoreUnsafe(ref z, 0);
            c01.StoreUnsafe(ref z, 8);
            c10.StoreUnsafe(ref z, (nuint)ldz);
            c11.StoreUnsafe(ref z, (nuint)(ldz + 8));
            c20.StoreUnsafe(ref z, (nuint)(2 * ldz));
            c21.StoreUnsafe(ref z, (nuint)(2 * ldz + 8));
            c30.StoreUnsafe(ref z, (nuint)(3 * ldz));
            c31.StoreUnsafe(ref z, (nuint)(3 * ldz + 8));
            c40.StoreUnsafe(ref z, (nuint)(4 * ldz));
            c41.StoreUnsafe(ref z, (nuint)(4 * ldz + 8));
            c50.StoreUnsafe(ref z, (nuint)(5 * ldz));
            c51.StoreUnsafe(ref z, (nuint)(5 * ldz + 8));
            c60.StoreUnsafe(ref z, (nuint)(6 * ldz));
            c61.StoreUnsafe(ref z, (nuint)(6 * ldz + 8));
            c70.StoreUnsafe(ref z, (nuint)(7 * ldz));
            c71.StoreUnsafe(ref z, (nuint)(7 * ldz + 8));
            c00 = Vector256<float>.Zero;
            c01 = Vector256<float>.Zero;
            c10 = Vector256<float>.Zero;
            c11 = Vector256<float>.Zero;
            c20 = Vector256<float>.Zero;
            c21 = Vector256<float>.Zero;
            c30 = Vector256<float>.Zero;
            c31 = Vector256<float>.Zero;
            c40 = Vector256<float>.Zero;
            c41 = Vector256<float>.Zero;
            c50 = Vector256<float>.Zero;
            c51 = Vector256<float>.Zero;
            c60 = Vector256<float>.Zero;
            c61 = Vector256<float>.Zero;
            c70 = Vector256<float>.Zero;
            c71 = Vector256<float>.Zero;
        }

        for (int p = 0; p < kh; p++)
        {
            var b0 = Vector256.LoadUnsafe(ref bh);
            var b1 = Vector256.LoadUnsafe(ref bh, 8);
            av = Vector256.Create(h);
            c00 = Vector256.FusedMultiplyAdd(av, b0, c00);
            c01 = Vector256.FusedMultiplyAdd(av, b1, c01);
            av = Vector256.Create(Unsafe.Add(ref h, hRow));
            c10 = Vector256.FusedMultiplyAdd(av, b0, c10);
            c11 = Vector256.FusedMultiplyAdd(av, b1, c11);
            av = Vector256.Create(Unsafe.Add(ref h, 2 * hRow));
            c20 = Vector256.FusedMultiplyAdd(av, b0, c20);
            c21 = Vector256.FusedMultiplyAdd(av, b1, c21);
            av = Vector256.Create(Unsafe.Add(ref h, 3 * hRow));
            c30 = Vector256.FusedMultiplyAdd(av, b0, c30);
            c31 = Vector256.FusedMultiplyAdd(av, b1, c31);
            av = Vector256.Create(Unsafe.Add(ref h, 4 * hRow));
            c40 = Vector256.FusedMultiplyAdd(av, b0, c40);
            c41 = Vector256.FusedMultiplyAdd(av, b1, c41);
            av = Vector256.Create(Unsafe.Add(ref h, 5 * hRow));
            c50 = Vector256.FusedMultiplyAdd(av, b0, c50);
            c51 = Vector256.FusedMultiplyAdd(av, b1, c51);
            av = Vector256.Create(Unsafe.Add(ref h, 6 * hRow));
            c60 = Vector256.FusedMultiplyAdd(av, b0, c60);
            c61 = Vector256.FusedMultiplyAdd(av, b1, c61);
            av = Vector256.Create(Unsafe.Add(ref h, 7 * hRow));
            c70 = Vector256.FusedMultiplyAdd(av, b0, c70);
            c71 = Vector256.FusedMultiplyAdd(av, b1, c71);
            h = ref Unsafe.Add(ref h, 1);
            bh = ref Unsafe.Add(ref bh, W);
        }

        ref float target = ref separate ? ref zh : ref z;
        c00.StoreUnsafe(ref target, 0);
        c01.StoreUnsafe(ref target, 8);
        c10.StoreUnsafe(ref target, (nuint)ldz);
        c11.StoreUnsafe(ref target, (nuint)(ldz + 8));
        c20.StoreUnsafe(ref target, (nuint)(2 * ldz));
        c21.StoreUnsafe(ref target, (nuint)(2 * ldz + 8));
        c30.StoreUnsafe(ref target, (nuint)(3 * ldz));
        c31.StoreUnsafe(ref target, (nuint)(3 * ldz + 8));
        c40.StoreUnsafe(ref target, (nuint)(4 * ldz));
        c41.StoreUnsafe(ref target, (nuint)(4 * ldz + 8));
        c50.StoreUnsafe(ref target, (nuint)(5 * ldz));
        c51.StoreUnsafe(ref target, (nuint)(5 * ldz + 8));
        c60.StoreUnsafe(ref target, (nuint)(6 * ldz));
        c61.StoreUnsafe(ref target, (nuint)(6 * ldz + 8));
        c70.StoreUnsafe(ref target, (nuint)(7 * ldz));
        c71.StoreUnsafe(ref target, (nuint)(7 * ldz + 8));
    }
}
