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
    public static void Pack(ReadOnlySpan<float> src, int ld, int k, int n, int p0, int p1, Span<float> dst)
    {
        int strips = (n + Width - 1) / Width;
        for (int s = 0; s < strips; s++)
        {
            int j0 = s * Width;
            int w = Math.Min(Width, n - j0);
            for (int p = p0; p < p1; p++)
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
}
