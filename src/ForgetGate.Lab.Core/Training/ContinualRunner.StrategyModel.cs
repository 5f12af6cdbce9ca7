using ForgetGate.Lab.Core.Training.Strategies;
using ForgetGate.Lab.Numerics.Models;

namespace ForgetGate.Lab.Core.Training;

public sealed partial class ContinualRunner
{
    /// <summary>The runner's model and pooled batch buffers as strategies see them (extra forward/backward passes).</summary>
    private sealed class StrategyModel(ContinualRunner runner) : IStrategyModel
    {
        public IReadOnlyList<Parameter> Parameters => runner._model.Parameters;

        public ITaskSource Data => runner._data;

        public int MaxBatch => runner._indices.Length;

        public void Predict(IReadOnlyList<SampleRef> samples, Span<float> outputs)
        {
            int n = Forward(samples, training: false);
            runner._output.AsSpan(0, n * runner._data.Outputs).CopyTo(outputs);
        }

        public double LossGradient(IReadOnlyList<SampleRef> samples)
        {
            int n = Forward(samples, training: true);
            int size = n * runner._data.Outputs;
            double loss = runner.ComputeLoss(samples, runner._output.AsSpan(0, size), runner._dOutput.AsSpan(0, size));
            runner._model.Backward(runner._dOutput.AsSpan(0, size));
            return loss;
        }

        public double TaskLoss(IReadOnlyList<SampleRef> batch, int from, int count, ReadOnlySpan<float> output, Span<float> dOutput, float weight) =>
            runner.ComputeLoss(batch, from, count, output, dOutput, weight);

        public void OutputGradient(SampleRef sample, OutputGradientRule rule)
        {
            ArgumentNullException.ThrowIfNull(rule);
            Forward([sample], training: true);
            int outputs = runner._data.Outputs;
            rule(sample, runner._output.AsSpan(0, outputs), runner._dOutput.AsSpan(0, outputs));
            runner._model.Backward(runner._dOutput.AsSpan(0, outputs));
        }

        /// <summary>Per-sample gradients (batch of one) for the EWC Fisher.</summary>
        public void AccumulateSquaredGradients(IReadOnlyList<SampleRef> samples, float[][] accumulators)
        {
            ArgumentNullException.ThrowIfNull(samples);
            ArgumentNullException.ThrowIfNull(accumulators);
            var one = new SampleRef[1];
            var parameters = runner._model.Parameters;
            int outputs = runner._data.Outputs;
            foreach (var s in samples)
            {
                one[0] = s;
                Forward(one, training: true);
                runner.ComputeLoss(one, runner._output.AsSpan(0, outputs), runner._dOutput.AsSpan(0, outputs));
                runner._model.Backward(runner._dOutput.AsSpan(0, outputs));
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

            runner.FillBatch(samples, DataSplit.Train);
            int sample = runner._data.Steps * runner._data.InputSize;
            runner._model.Forward(runner._x.AsSpan(0, n * sample), n, runner._data.Steps, runner._output.AsSpan(0, n * runner._data.Outputs), training);
            return n;
        }
    }
}
