using ForgetGate.Lab.Core.Training.Strategies;
using ForgetGate.Lab.Numerics.Engines;

namespace ForgetGate.Lab.Core.Training;

/// <summary>Per-sample gradients (batches of one) squared and summed, for the EWC Fisher (DESIGN.md §5).</summary>
internal sealed class SampleGradients(IRecurrentNetwork model, ITaskSource data, BatchBuffers buffers) : ISquaredGradientSource
{
    public void AccumulateSquaredGradients(IReadOnlyList<SampleRef> samples, float[][] accumulators)
    {
        var one = new List<SampleRef>(1) { default };
        var parameters = model.Parameters;
        int outputs = data.Outputs;
        foreach (var s in samples)
        {
            one[0] = s;
            buffers.Fill(one, DataSplit.Train);
            var output = buffers.Output.AsSpan(0, outputs);
            model.Forward(buffers.X.AsSpan(0, buffers.SampleLength), 1, data.Steps, output, training: true);
            BatchLoss.Compute(data, one, buffers, output, buffers.DOutput.AsSpan(0, outputs));
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
}
