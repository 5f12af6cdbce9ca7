using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Numerics.Losses;
using ForgetGate.Lab.Numerics.Engines;

namespace ForgetGate.Lab.Core.Training;

/// <summary>
/// Scores the model on every task's whole test set (DESIGN.md §6): accuracy and mean cross-entropy for
/// classification, MSE (score = −MSE) for regression. Fills R at a task's last epoch and writes every
/// evaluation as rows to the sink.
/// </summary>
internal sealed class TaskEvaluator(IRecurrentNetwork model, ITaskSource data, BatchBuffers buffers, ScoreMatrix scores, int epochsPerTask, int batchSize)
{
    /// <summary>Evaluates every task after <paramref name="afterTask"/>'s epoch <paramref name="epoch"/> (0 = untrained) and stores the rows.</summary>
    public async Task EvaluateAllAsync(IRunSink sink, int afterTask, int epoch, CancellationToken cancellationToken)
    {
        var rows = new List<EvaluationRow>(data.TaskCount * 3);
        for (int task = 0; task < data.TaskCount; task++)
        {
            var (score, loss) = Evaluate(task);
            if (epoch == 0 || epoch == epochsPerTask)
            {
                scores[afterTask, task] = score;
            }

            if (data.IsRegression)
            {
                rows.Add(new EvaluationRow(afterTask, epoch, task, "mse", loss));
                rows.Add(new EvaluationRow(afterTask, epoch, task, "score", -loss));
            }
            else
            {
                rows.Add(new EvaluationRow(afterTask, epoch, task, "accuracy", score));
                rows.Add(new EvaluationRow(afterTask, epoch, task, "loss", loss));
            }
        }

        await sink.WriteEvaluationsAsync(rows, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Accuracy and mean cross-entropy (classification) or −MSE and MSE (regression) on a task's whole test set.</summary>
    public (double Score, double Loss) Evaluate(int task)
    {
        int total = data.Count(task, DataSplit.Test);
        int outputs = data.Outputs;
        int sample = buffers.SampleLength;
        var allowed = data.AllowedClasses(task);
        long correct = 0;
        double lossSum = 0;
        for (int from = 0; from < total; from += batchSize)
        {
            int n = Math.Min(batchSize, total - from);
            buffers.FillRange(task, DataSplit.Test, from, n);
            var output = buffers.Output.AsSpan(0, n * outputs);
            model.Forward(buffers.X.AsSpan(0, n * sample), n, data.Steps, output, training: false);
            if (data.IsRegression)
            {
                lossSum += Losses.MeanSquaredError(output, buffers.Targets.AsSpan(0, n * outputs), buffers.DOutput.AsSpan(0, n * outputs)) * n;
                continue;
            }

            lossSum += Losses.SoftmaxCrossEntropy(output, buffers.Labels.AsSpan(0, n), n, outputs, buffers.DOutput.AsSpan(0, n * outputs), allowed) * n;
            for (int i = 0; i < n; i++)
            {
                if (ArgMax(output.Slice(i * outputs, outputs), allowed) == buffers.Labels[i])
                {
                    correct++;
                }
            }
        }

        double meanLoss = total == 0 ? double.NaN : lossSum / total;
        return (data.IsRegression ? -meanLoss : correct / (double)Math.Max(total, 1), meanLoss);
    }

    /// <summary>The predicted class: the largest output among the allowed classes (all when empty); the first wins a tie.</summary>
    private static int ArgMax(ReadOnlySpan<float> row, ReadOnlySpan<int> allowed)
    {
        int best = -1;
        float bestValue = float.NegativeInfinity;
        if (allowed.IsEmpty)
        {
            for (int c = 0; c < row.Length; c++)
            {
                if (row[c] > bestValue || best < 0)
                {
                    best = c;
                    bestValue = row[c];
                }
            }

            return best;
        }

        foreach (int c in allowed)
        {
            if (row[c] > bestValue || best < 0)
            {
                best = c;
                bestValue = row[c];
            }
        }

        return best;
    }
}
