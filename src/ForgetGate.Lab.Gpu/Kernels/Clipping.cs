using ILGPU;
using ILGPU.Algorithms;

namespace ForgetGate.Lab.Gpu.Kernels;

/// <summary>
/// clip_grad_norm_ (L2) per run in two fixed-order passes: squares summed over fixed chunks of each tensor, then per
/// run the chunks of each tensor in order (the tensor's norm rounded to float32, as torch.norm returns it) and the
/// norm of those norms. No atomics: the result depends on the chunking, which depends on the shape only.
/// </summary>
internal static class Clipping
{
    /// <summary>Chunk length in elements.</summary>
    public const int Chunk = 2048;

    /// <summary>partial[r, c] = Σ g² over chunk c ([start, end) in the chunk table), in float64 (index.X = chunk).</summary>
    public static void ChunkSquares(Index2D index, int paramRun, ArrayView<float> gradients, ArrayView<int> chunks, ArrayView<double> partial, int chunkCount)
    {
        int c = index.X;
        int r = index.Y;
        int start = chunks[2 * c];
        int end = chunks[(2 * c) + 1];
        double s = 0;
        int p = r * paramRun;
        for (int i = start; i < end; i++)
        {
            double g = gradients[p + i];
            s += g * g;
        }

        partial[(r * chunkCount) + c] = s;
    }

    /// <summary>
    /// Per run (index = run): total = √Σ_tensors (float)‖g_tensor‖², coef = maxNorm/(total + 1e-6); scale = coef when
    /// coef &lt; 1, else 1. tensors holds each tensor's [firstChunk, endChunk); the total norm is kept for the host.
    /// </summary>
    public static void Coefficients(Index1D index, int tensorCount, int chunkCount, ArrayView<int> tensors, ArrayView<double> partial, float maxNorm, ArrayView<float> scale, ArrayView<float> norms)
    {
        int r = index;
        double sumOfSquares = 0;
        for (int t = 0; t < tensorCount; t++)
        {
            double s = 0;
            for (int c = tensors[2 * t]; c < tensors[(2 * t) + 1]; c++)
            {
                s += partial[(r * chunkCount) + c];
            }

            double norm = (float)XMath.Sqrt(s);
            sumOfSquares += norm * norm;
        }

        float total = (float)XMath.Sqrt(sumOfSquares);
        float coef = maxNorm / (total + 1e-6f);
        scale[r] = coef < 1f ? coef : 1f;
        norms[r] = total;
    }
}
