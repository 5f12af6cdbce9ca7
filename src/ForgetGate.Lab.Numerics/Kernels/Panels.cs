using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ForgetGate.Lab.Numerics.Kernels;

/// <summary>
/// The B-operand layout of <see cref="MatMul"/>: a [K, N] matrix stored as ⌈N/16⌉ panels of [K][16]
/// (column tails zero-padded), so a micro-kernel reads 16 columns of one row as one contiguous 64-byte line.
/// </summary>
internal static class Panels
{
    /// <summary>Columns per panel.</summary>
    public const int Width = 16;

    /// <summary>Floats needed for a [k, n] matrix in panel layout.</summary>
    public static int Length(int k, int n) => ((n + Width - 1) / Width) * k * Width;

    /// <summary>Position of element (p, j) of a matrix with k rows.</summary>
    public static int Index(int p, int j, int k) => ((j / Width) * k * Width) + (p * Width) + (j % Width);

    /// <summary>Packs rows [p0, p1) of row-major src [k, n] (leading dimension ld) into panel layout of a k-row matrix.</summary>
    public static void Pack(ReadOnlySpan<float> src, int ld, int k, int n, int p0, int p1, Span<float> dst) =>
        PackStrips(src, ld, k, n, 0, (n + Width - 1) / Width, p0, p1, dst);

    /// <summary>Packs panels [s0, s1) and rows [p0, p1) of row-major src [k, n] into panel layout of a k-row matrix.</summary>
    public static void PackStrips(ReadOnlySpan<float> src, int ld, int k, int n, int s0, int s1, int p0, int p1, Span<float> dst)
    {
        if (!CheckRange(src.Length, ((long)(p1 - 1) * ld) + n, dst.Length, k, n, s0, s1, p0, p1))
        {
            return;
        }

        ref float from0 = ref MemoryMarshal.GetReference(src);
        ref float to0 = ref MemoryMarshal.GetReference(dst);
        for (int s = s0; s < s1; s++)
        {
            int j0 = s * Width;
            int w = Math.Min(Width, n - j0);
            int p = p0;
            if (w == Width)
            {
                // A full panel row is 64 bytes: two register moves instead of a memmove call per row.
                for (; p < p1; p++)
                {
                    ref float from = ref Unsafe.Add(ref from0, ((nint)p * ld) + j0);
                    ref float to = ref Unsafe.Add(ref to0, ((nint)s * k * Width) + ((nint)p * Width));
                    Vector256.LoadUnsafe(ref from).StoreUnsafe(ref to);
                    Vector256.LoadUnsafe(ref from, 8).StoreUnsafe(ref to, 8);
                }
            }

            for (; p < p1; p++)
            {
                var to = dst.Slice((s * k * Width) + (p * Width), Width);
                src.Slice((p * ld) + j0, w).CopyTo(to);
                if (w < Width)
                {
                    to[w..].Clear();
                }
            }
        }
    }

    /// <summary>
    /// Packs panels [s0, s1) and rows [p0, p1) of the transpose of row-major src [n, k] (leading dimension ld), i.e.
    /// element (p, j) of the packed [k, n] matrix is src[j·ld + p]. Full panels move as 8×8 register transposes.
    /// </summary>
    public static void PackStripsTransposed(ReadOnlySpan<float> src, int ld, int k, int n, int s0, int s1, int p0, int p1, Span<float> dst)
    {
        if (!CheckRange(src.Length, ((long)(n - 1) * ld) + k, dst.Length, k, n, s0, s1, p0, p1))
        {
            return;
        }

        ref float s0Ref = ref MemoryMarshal.GetReference(src);
        ref float d0Ref = ref MemoryMarshal.GetReference(dst);
        for (int s = s0; s < s1; s++)
        {
            int j0 = s * Width;
            int w = Math.Min(Width, n - j0);
            ref float panel = ref Unsafe.Add(ref d0Ref, (nint)s * k * Width);
            int p = p0;
            if (Avx.IsSupported && w == Width)
            {
                for (; p + 8 <= p1; p += 8)
                {
                    ref float from = ref Unsafe.Add(ref s0Ref, ((nint)j0 * ld) + p);
                    ref float to = ref Unsafe.Add(ref panel, (nint)p * Width);
                    Transpose8x8(ref from, ld, ref to);
                    Transpose8x8(ref Unsafe.Add(ref from, (nint)8 * ld), ld, ref Unsafe.Add(ref to, 8));
                }
            }

            for (; p < p1; p++)
            {
                ref float to = ref Unsafe.Add(ref panel, (nint)p * Width);
                for (int r = 0; r < Width; r++)
                {
                    Unsafe.Add(ref to, r) = r < w ? Unsafe.Add(ref s0Ref, ((nint)(j0 + r) * ld) + p) : 0f;
                }
            }
        }
    }

    /// <summary>
    /// Whether panels [s0, s1) × rows [p0, p1) of a packed [k, n] matrix are a non-empty range; throws when it is
    /// outside the matrix or the source (<paramref name="srcNeeds"/> values) or destination is too short for it.
    /// </summary>
    private static bool CheckRange(int srcLength, long srcNeeds, int dstLength, int k, int n, int s0, int s1, int p0, int p1)
    {
        if (p1 <= p0 || s1 <= s0)
        {
            return false;
        }

        int strips = (n + Width - 1) / Width;
        if (srcLength < srcNeeds || dstLength < (long)strips * k * Width || s0 < 0 || s1 > strips || p0 < 0 || p1 > k)
        {
            ThrowHelper.ThrowArgument($"Packing panels [{s0}, {s1}) × rows [{p0}, {p1}) of a [{k}, {n}] matrix needs {srcNeeds} source values and {(long)strips * k * Width} destination values; got {srcLength} and {dstLength}.", "src");
        }

        return true;
    }

    /// <summary>Reads 8 rows of 8 floats (row stride ld) and writes their transpose as 8 rows of 8 floats at stride 16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(ref float from, int ld, ref float to)
    {
        var r0 = Vector256.LoadUnsafe(ref from);
        var r1 = Vector256.LoadUnsafe(ref from, (nuint)ld);
        var r2 = Vector256.LoadUnsafe(ref from, (nuint)(2 * ld));
        var r3 = Vector256.LoadUnsafe(ref from, (nuint)(3 * ld));
        var r4 = Vector256.LoadUnsafe(ref from, (nuint)(4 * ld));
        var r5 = Vector256.LoadUnsafe(ref from, (nuint)(5 * ld));
        var r6 = Vector256.LoadUnsafe(ref from, (nuint)(6 * ld));
        var r7 = Vector256.LoadUnsafe(ref from, (nuint)(7 * ld));

        // Interleave pairs of rows, then pairs of pairs, then swap 128-bit halves: the classic 8×8 transpose.
        var t0 = Avx.UnpackLow(r0, r1);
        var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5);
        var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7);
        var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44);
        var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44);
        var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44);
        var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44);
        var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Permute2x128(u0, u4, 0x20).StoreUnsafe(ref to);
        Avx.Permute2x128(u1, u5, 0x20).StoreUnsafe(ref to, Width);
        Avx.Permute2x128(u2, u6, 0x20).StoreUnsafe(ref to, 2 * Width);
        Avx.Permute2x128(u3, u7, 0x20).StoreUnsafe(ref to, 3 * Width);
        Avx.Permute2x128(u0, u4, 0x31).StoreUnsafe(ref to, 4 * Width);
        Avx.Permute2x128(u1, u5, 0x31).StoreUnsafe(ref to, 5 * Width);
        Avx.Permute2x128(u2, u6, 0x31).StoreUnsafe(ref to, 6 * Width);
        Avx.Permute2x128(u3, u7, 0x31).StoreUnsafe(ref to, 7 * Width);
    }
}
