using ILGPU;
using ILGPU.Algorithms;

namespace ForgetGate.Lab.Gpu.Kernels;

/// <summary>Softmax cross-entropy as <c>nn.CrossEntropyLoss()</c>, one thread per (batch row, run).</summary>
internal static class SoftmaxLoss
{
    /// <summary>
    /// Row loss logsumexp(z) − z[y] and gradient (softmax(z) − onehot(y)) / B, the max subtracted first; the
    /// probabilities and p − 1 are formed in float64 (as the managed loss), so small gradients keep their digits.
    /// </summary>
    public static void Rows(Index2D index, int batch, int classes, ArrayView<float> logits, ArrayView<int> labels, ArrayView<float> dLogits, ArrayView<float> rowLoss)
    {
        int b = index.X;
        int r = index.Y;
        int row = ((r * batch) + b) * classes;
        int label = labels[(r * batch) + b];
        float max = logits[row];
        for (int c = 1; c < classes; c++)
        {
            max = XMath.Max(max, logits[row + c]);
        }

        double sum = 0;
        for (int c = 0; c < classes; c++)
        {
            sum += XMath.Exp((double)(logits[row + c] - max));
        }

        double logSum = XMath.Log(sum);
        double invBatch = 1.0 / batch;
        for (int c = 0; c < classes; c++)
        {
            double p = XMath.Exp(logits[row + c] - max - logSum);
            dLogits[row + c] = (float)((p - (c == label ? 1.0 : 0.0)) * invBatch);
        }

        rowLoss[(r * batch) + b] = (float)(logSum - (logits[row + label] - max));
    }

    /// <summary>Mean of each run's row losses, rows added in order (index over runs).</summary>
    public static void Mean(Index1D index, int batch, ArrayView<float> rowLoss, ArrayView<float> loss)
    {
        double sum = 0;
        for (int b = 0; b < batch; b++)
        {
            sum += rowLoss[(index * batch) + b];
        }

        loss[index] = (float)(sum / batch);
    }
}
