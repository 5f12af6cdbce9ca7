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
    public static double Compute(ITaskSource data, List<SampleRef> batch, BatchBuffers buffers, ReadOnlySpan<float> output, Span<float> dOutput)
    {
        int n = batch.Count;
        int outputs = data.Outputs;
        if (data.IsRegression)
        {
            return Losses.MeanSquaredError(output, buffers.Targets.AsSpan(0, n * outputs), dOutput);
        }

        double loss = 0;
        int start = 0;
        while (start < n)
        {
            int task = batch[start].Task;
            int end = start + 1;
            var allowed = data.AllowedClasses(task);
            if (!allowed.IsEmpty)
            {
                while (end < n && batch[end].Task == task)
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
                output.Slice(start * outputs, rows * outputs), buffers.Labels.AsSpan(start, rows), rows, outputs,
                dOutput.Slice(start * outputs, rows * outputs), allowed);
            float weight = rows / (float)n;
            if (rows != n)
            {
                var slice = dOutput.Slice(start * outputs, rows * outputs);
                for (int i = 0; i < slice.Length; i++)
                {
                    slice[i] *= weight;
                }
            }

            loss += part * weight;
            start = end;
        }

        return loss;
    }
}
