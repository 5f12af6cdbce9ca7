using ForgetGate.Lab.Numerics.Losses;

namespace ForgetGate.Lab.Core.Training;

/// <summary>The training loss of a batch and its gradient with respect to the model's outputs.</summary>
internal static class BatchLoss
{
    /// <summary>
    /// Mean loss over the batch (MSE for regression, softmax cross-entropy otherwise) written with its gradient into
    /// <paramref name="dOutput"/>. Task-incremental heads restrict each task's softmax to its classes, so a batch that
    /// mixes tasks (replay) is scored run by run, each run's gradient weighted by its share of the batch.
    /// </summary>
    public static double Compute(ITaskSource data, IReadOnlyList<SampleRef> batch, BatchBuffers buffers, ReadOnlySpan<float> output, Span<float> dOutput) =>
        Compute(data, batch, 0, batch.Count, buffers, output, dOutput, 1f);

    /// <summary>
    /// Mean loss over rows [from, from + count) of the filled batch times <paramref name="scale"/>; its gradient
    /// (also times <paramref name="scale"/>) is written over those rows of <paramref name="dOutputAll"/>.
    /// </summary>
    public static double Compute(ITaskSource data, IReadOnlyList<SampleRef> batch, int from, int count, BatchBuffers buffers, ReadOnlySpan<float> outputAll, Span<float> dOutputAll, float scale)
    {
        int n = count;
        int outputs = data.Outputs;
        var output = outputAll.Slice(from * outputs, n * outputs);
        var dOutput = dOutputAll.Slice(from * outputs, n * outputs);
        if (data.IsRegression)
        {
            double mse = Losses.MeanSquaredError(output, buffers.Targets.AsSpan(from * outputs, n * outputs), dOutput);
            Scale(dOutput, scale);
            return mse * scale;
        }

        double loss = 0;
        int start = 0;
        while (start < n)
        {
            int task = batch[from + start].Task;
            int end = start + 1;
            var allowed = data.AllowedClasses(task);
            if (!allowed.IsEmpty)
            {
                while (end < n && batch[from + end].Task == task)
                {
                    end++;
                }
            }
            else
            {
                end = n; // one softmax over every class: no need to split by task
            }

            int rows = end - start;
            double part = Losses.SoftmaxCrossEntropy(
                output.Slice(start * outputs, rows * outputs), buffers.Labels.AsSpan(from + start, rows), rows, outputs,
                dOutput.Slice(start * outputs, rows * outputs), allowed);
            float weight = rows / (float)n;
            if (rows != n)
            {
                Scale(dOutput.Slice(start * outputs, rows * outputs), weight);
            }

            loss += part * weight;
            start = end;
        }

        Scale(dOutput, scale);
        return loss * scale;
    }

    private static void Scale(Span<float> values, float scale)
    {
        if (scale == 1f)
        {
            return;
        }

        for (int i = 0; i < values.Length; i++)
        {
            values[i] *= scale;
        }
    }
}
