using ForgetGate.Lab.Core.Training.Strategies;
using ForgetGate.Lab.Numerics.Engines;
using ForgetGate.Lab.Numerics.Models;

namespace ForgetGate.Lab.Core.Training;

/// <summary>
/// The run's model and pooled batch buffers as strategies see them: extra forward and backward passes on samples
/// they name (memories, reference batches, per-sample importances, the EWC Fisher's per-sample gradients).
/// </summary>
internal sealed class StrategyModel(IRecurrentNetwork model, ITaskSource data, BatchBuffers buffers) : IStrategyModel
{
    public IReadOnlyList<Parameter> Parameters => model.Parameters;

    public ITaskSource Data => data;

    public int MaxBatch => buffers.Indices.Length;

    public void Predict(IReadOnlyList<SampleRef> samples, Span<float> outputs)
    {
        int n = Forward(samples, training: false);
        buffers.Output.AsSpan(0, n * data.Outputs).CopyTo(outputs);
    }

    public double LossGradient(IReadOnlyList<SampleRef> samples)
    {
        int n = Forward(samples, training: true);
        int size = n * data.Outputs;
        double loss = BatchLoss.Compute(data, samples, buffers, buffers.Output.AsSpan(0, size), buffers.DOutput.AsSpan(0, size));
        model.Backward(buffers.DOutput.AsSpan(0, size));
        return loss;
    }

    public double TaskLoss(IReadOnlyList<SampleRef> batch, int from, int count, ReadOnlySpan<float> output, Span<float> dOutput, float weight) =>
        BatchLoss.Compute(data, batch, from, count, buffers, output, dOutput, weight);

    public void OutputGradient(SampleRef sample, OutputGradientRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        Forward([sample], training: true);
        int outputs = data.Outputs;
        rule(sample, buffers.Output.AsSpan(0, outputs), buffers.DOutput.AsSpan(0, outputs));
        model.Backward(buffers.DOutput.AsSpan(0, outputs));
    }

    /// <summary>Per-sample gradients (batch of one) squared and summed, for the EWC Fisher.</summary>
    public void AccumulateSquaredGradients(IReadOnlyList<SampleRef> samples, float[][] accumulators)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(accumulators);
        var one = new SampleRef[1];
        var parameters = model.Parameters;
        int outputs = data.Outputs;
        foreach (var s in samples)
        {
            one[0] = s;
            Forward(one, training: true);
            BatchLoss.Compute(data, one, buffers, buffers.Output.AsSpan(0, outputs), buffers.DOutput.AsSpan(0, outputs));
            model.Backward(buffers.DOutput.AsSpan(0, outputs));
            for (int p = 0; p < parameters.Count; p++)
            {
                var g = parameters[p].Gradient;
                var acc = accumulators[p];
                for (int i = 0; i < g.Length; i++)
                {
                    acc[i] = MathF.FusedMultiplyAdd(g[i], g[i], acc[i]);
                }
            }
        }
    }

    private int Forward(IReadOnlyList<SampleRef> samples, bool training)
    {
        ArgumentNullException.ThrowIfNull(samples);
        int n = samples.Count;
        if (n < 1 || n > MaxBatch)
        {
            throw new ArgumentOutOfRangeException(nameof(samples), n, $"A strategy pass takes 1 to {MaxBatch} samples.");
        }

        buffers.Fill(samples, DataSplit.Train);
        model.Forward(buffers.X.AsSpan(0, n * buffers.SampleLength), n, data.Steps, buffers.Output.AsSpan(0, n * data.Outputs), training);
        return n;
    }
}
