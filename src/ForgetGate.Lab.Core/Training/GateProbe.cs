using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Numerics.Engines;

namespace ForgetGate.Lab.Core.Training;

/// <summary>
/// Forget-gate telemetry after each task (DESIGN.md §7): the effective forget gate on a fixed probe batch
/// (the first test samples) of every task, summarised per layer; and gates through time (§12) at every evaluation.
/// Both read the gates through the engine seam's <see cref="IRecurrentNetwork.CopyForgetGates"/>, [steps, batch, units]
/// per layer, so any engine and any cell (a built-in's σ(f), γ, z, or a cell file's declared <c>forget:</c>) is probed alike.
/// </summary>
internal sealed class GateProbe(IRecurrentNetwork model, ITaskSource data, BatchBuffers buffers, int probeSamples, int hidden, int layers)
{
    /// <summary>
    /// Gates through time with the model as it stands after <paramref name="afterTask"/> tasks up to <paramref name="epoch"/>:
    /// per task and layer the mean gate per step, probe sample <see cref="GateSteps.SampleIndex"/>'s unit × step matrix, and the
    /// spread of every value (see <see cref="GateSteps.Summarise"/>). Called right after each evaluation, untrained included.
    /// With <paramref name="summaries"/> (a task's last evaluation) the same probe pass also gives the per-task telemetry
    /// rows (<see cref="GateStatistics.Summarise"/>): one forward of the probe samples serves both, which at T = 784 is
    /// most of a probe's cost. The strategies' end-of-task work that follows reads the parameters but never changes them,
    /// so these are the gates of the model the task ended with.
    /// </summary>
    public async Task WriteAsync(IRunSink sink, int afterTask, int epoch, bool summaries, CancellationToken cancellationToken)
    {
        var steps = new List<GateStepRow>();
        var telemetry = new List<GateTelemetryRow>();
        int sample = buffers.SampleLength;
        float[]? gates = null;
        for (int task = 0; task < data.TaskCount; task++)
        {
            int n = Math.Min(Math.Min(probeSamples, data.Count(task, DataSplit.Test)), buffers.Indices.Length);
            if (n == 0)
            {
                continue;
            }

            buffers.FillRange(task, DataSplit.Test, 0, n);
            model.Forward(buffers.X.AsSpan(0, n * sample), n, data.Steps, buffers.Output.AsSpan(0, n * data.Outputs), training: true);
            gates ??= new float[data.Steps * Math.Min(probeSamples, buffers.Indices.Length) * hidden];
            for (int layer = 0; layer < layers; layer++)
            {
                int written = model.CopyForgetGates(layer, gates);
                steps.Add(GateSteps.Summarise(afterTask, epoch, layer, task, gates.AsSpan(0, written), data.Steps, n, hidden));
                if (summaries)
                {
                    telemetry.Add(GateStatistics.Summarise(afterTask, layer, task, gates.AsSpan(0, written)));
                }
            }
        }

        await sink.WriteGateStepsAsync(steps, cancellationToken).ConfigureAwait(false);
        if (summaries)
        {
            await sink.WriteGateTelemetryAsync(telemetry, cancellationToken).ConfigureAwait(false);
        }
    }
}
