using System.Globalization;
using ForgetGate.Lab.Core.Runs;

namespace ForgetGate.Lab.Core.Training;

/// <summary>
/// What the training loop tells the world while it runs: the per-batch training curve (buffered, written at the
/// end of an epoch, before a checkpoint and on cancellation), live progress every 8 batches, and a progress note to
/// the store every 64 batches and at an epoch's end.
/// </summary>
internal sealed class TrainingTelemetry(IRunSink sink, IProgress<RunProgress>? progress, int taskCount, int epochsPerTask)
{
    // Live progress every 8 batches, a stored note every 64: cheap for the display, rare for the store.
    private const int ProgressMask = 7;
    private const int NoteMask = 63;

    private readonly List<TrainingCurveRow> _curve = [];

    /// <summary>Adds one batch's loss and the epoch's throughput so far to the curve.</summary>
    public void AddCurveRow(int task, int epoch, int batch, double loss, double samplesPerSecond) =>
        _curve.Add(new TrainingCurveRow(task + 1, epoch + 1, batch, loss, samplesPerSecond));

    /// <summary>Writes the buffered curve rows, if any.</summary>
    public async Task FlushCurveAsync(CancellationToken cancellationToken)
    {
        if (_curve.Count == 0)
        {
            return;
        }

        await sink.WriteTrainingCurveAsync(_curve.ToArray(), cancellationToken).ConfigureAwait(false);
        _curve.Clear();
    }

    /// <summary>Reports progress after batch <paramref name="batch"/> (0-based) of <paramref name="batches"/> when it is due.</summary>
    public async Task AfterBatchAsync(int task, int epoch, int batch, int batches, double loss, double samplesPerSecond, CancellationToken cancellationToken)
    {
        bool last = batch == batches - 1;
        if ((batch & ProgressMask) != ProgressMask && !last)
        {
            return;
        }

        double fraction = ((task * (double)epochsPerTask) + epoch + ((batch + 1.0) / batches)) / (taskCount * (double)epochsPerTask);
        progress?.Report(new RunProgress(task + 1, taskCount, epoch + 1, epochsPerTask, batch + 1, batches, loss, samplesPerSecond, fraction));
        if ((batch & NoteMask) == NoteMask || last)
        {
            string note = string.Create(CultureInfo.InvariantCulture, $"task {task + 1}/{taskCount} epoch {epoch + 1}/{epochsPerTask} batch {batch + 1}/{batches} loss {loss:F4} {samplesPerSecond:F0} samples/s");
            await sink.ReportProgressAsync(fraction, note, cancellationToken).ConfigureAwait(false);
        }
    }
}
