using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Numerics.Engines;

namespace ForgetGate.Lab.Core.Training;

/// <summary>
/// Forget-gate telemetry after each task (DESIGN.md §7): the effective forget gate on a fixed probe batch
/// (the first test samples) of every task, summarised per layer.
/// </summary>
internal sealed class GateProbe(IRecurrentNetwork model, ITaskSource data, BatchBuffers buffers, int probeSamples, int hidden, int layers)
{
    /// <summary>Probes every task with the model as it stands after <paramref name="afterTask"/> and stores one row per task and layer.</summary>
    public async Task WriteAsync(IRunSink sink, int afterTask, CancellationToken cancellationToken)
    {
        var rows = new List<GateTelemetryRow>();
        int sample = buffers.SampleLength;
        for (int task = 0; task < data.TaskCount; task++)
        {
            int n = Math.Min(Math.Min(probeSamples, data.Count(task, DataSplit.Test)), buffers.Indices.Length);
            if (n == 0)
            {
                continue;
            }

            buffers.FillRange(task, DataSplit.Test, 0, n);
            model.Forward(buffers.X.AsSpan(0, n * sample), n, data.Steps, buffers.Output.AsSpan(0, n * data.Outputs), training: true);
            var gates = new float[data.Steps * n * hidden];
            for (int layer = 0; layer < layers; layer++)
            {
                int written = model.CopyForgetGates(layer, gates);
                rows.Add(GateStatistics.Summarise(afterTask, layer, task, gates.AsSpan(0, written)));
            }
        }

        await sink.WriteGateTelemetryAsync(rows, cancellationToken).ConfigureAwait(false);
    }
}
