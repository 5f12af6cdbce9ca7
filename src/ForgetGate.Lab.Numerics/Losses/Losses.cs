namespace ForgetGate.Lab.Numerics.Losses;

/// <summary>Loss functions with PyTorch's reduction semantics (mean), returning the loss and writing its gradient.</summary>
public static class Losses
{
    /// <summary>
    /// Mean softmax cross-entropy over the batch, as <c>nn.CrossEntropyLoss()</c>:
    /// loss = mean_b(logsumexp(z_b) − z_b[y_b]); dLogits = (softmax(z) − onehot(y)) / batch.
    /// </summary>
    /// <param name="logits">[batch, classes] row-major.</param>
    /// <param name="labels">[batch] class indices in [0, classes).</param>
    /// <param name="batch">Rows.</param>
    /// <param name="classes">Columns.</param>
    /// <param name="dLogits">[batch, classes] gradient destination, or empty to skip the gradient.</param>
    /// <param name="allowedClasses">
    /// If not empty, the softmax runs over these classes only (task-incremental multi-head); other
    /// columns get zero gradient and every label must be one of them.
    /// </param>
    /// <returns>The mean loss.</returns>
    public static float SoftmaxCrossEntropy(
        ReadOnlySpan<float> logits,
        ReadOnlySpan<int> labels,
        int batch,
        int classes,
        Span<float> dLogits,
        ReadOnlySpan<int> allowedClasses = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 1);
        if (logits.Length < batch * classes)
        {
            ThrowHelper.ThrowArgument($"logits has {logits.Length} elements; expected batch·classes = {batch}·{classes} = {batch * classes}.", nameof(logits));
        }

        if (labels.Length < batch)
        {
            ThrowHelper.ThrowArgument($"labels has {labels.Length} elements; expected batch = {batch}.", nameof(labels));
        }

        bool withGradient = !dLogits.IsEmpty;
        if (withGradient && dLogits.Length < batch * classes)
        {
            ThrowHelper.ThrowDestinationTooShort(nameof(dLogits));
        }

        bool subset = !allowedClasses.IsEmpty;
        foreach (int c in allowedClasses)
        {
            if ((uint)c >= (uint)classes)
            {
                ThrowHelper.ThrowArgumentOutOfRange(nameof(allowedClasses), c, $"Allowed class {c} is outside [0, {classes}).");
            }
        }

        double total = 0;
        double invBatch = 1.0 / batch;
        for (int b = 0; b < batch; b++)
        {
            int label = labels[b];
            if ((uint)label >= (uint)classes)
            {
                ThrowHelper.ThrowArgumentOutOfRange(nameof(labels), label, $"Label at index {b} is {label}; expected a class in [0, {classes}).");
            }

            if (subset && !allowedClasses.Contains(label))
            {
                ThrowHelper.ThrowArgumentOutOfRange(nameof(labels), label, $"Label at index {b} is {label}, which is not one of the allowed classes [{string.Join(", ", allowedClasses.ToArray())}].");
            }

            var row = logits.Slice(b * classes, classes);
            float max = float.NegativeInfinity;
            if (subset)
            {
                foreach (int c in allowedClasses)
                {
                    max = MathF.Max(max, row[c]);
                }
            }
            else
            {
                for (int c = 0; c < classes; c++)
                {
                    max = MathF.Max(max, row[c]);
                }
            }

            // log-sum-exp with the max subtracted: exp never overflows and the largest term is exactly 1.
            double sum = 0;
            if (subset)
            {
                foreach (int c in allowedClasses)
                {
                    sum += Math.Exp(row[c] - max);
                }
            }
            else
            {
                for (int c = 0; c < classes; c++)
                {
                    sum += Math.Exp(row[c] - max);
                }
            }

            double logSum = Math.Log(sum);
            total += logSum - (row[label] - max);

            if (withGradient)
            {
                // p − 1 is formed in float64: for a confident correct prediction (p ≈ 1) a float32
                // subtraction would lose most digits of the small gradient.
                var grad = dLogits.Slice(b * classes, classes);
                if (subset)
                {
                    grad.Clear();
                    foreach (int c in allowedClasses)
                    {
                        grad[c] = (float)((Math.Exp(row[c] - max - logSum) - (c == label ? 1.0 : 0.0)) * invBatch);
                    }
                }
                else
                {
                    for (int c = 0; c < classes; c++)
                    {
                        grad[c] = (float)((Math.Exp(row[c] - max - logSum) - (c == label ? 1.0 : 0.0)) * invBatch);
                    }
                }
            }
        }

        return (float)(total / batch);
    }

    /// <summary>Mean squared error over all elements, as <c>nn.MSELoss()</c>: mean((p − t)²); dPred = 2(p − t)/N.</summary>
    /// <param name="prediction">Predictions.</param>
    /// <param name="target">Targets, same length.</param>
    /// <param name="dPrediction">Gradient destination (same length), or empty to skip the gradient.</param>
    /// <returns>The mean loss.</returns>
    public static float MeanSquaredError(ReadOnlySpan<float> prediction, ReadOnlySpan<float> target, Span<float> dPrediction)
    {
        if (prediction.Length != target.Length)
        {
            ThrowHelper.ThrowArgument($"prediction has {prediction.Length} elements but target has {target.Length}.", nameof(target));
        }

        if (prediction.Length == 0)
        {
            ThrowHelper.ThrowArgument("MSE of an empty tensor is undefined (PyTorch returns NaN).", nameof(prediction));
        }

        bool withGradient = !dPrediction.IsEmpty;
        if (withGradient && dPrediction.Length < prediction.Length)
        {
            ThrowHelper.ThrowDestinationTooShort(nameof(dPrediction));
        }

        int n = prediction.Length;
        float scale = 2f / n;
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            float diff = prediction[i] - target[i];
            total += (double)diff * diff;
            if (withGradient)
            {
                dPrediction[i] = scale * diff;
            }
        }

        return (float)(total / n);
    }
}
