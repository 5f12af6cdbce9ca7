using System.Data.Common;
using System.Diagnostics;
using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Storage;
using Microsoft.Extensions.Logging;

namespace ForgetGate.Lab.Cli.Worker;

/// <summary>
/// Rides out a store that is briefly unreachable (a database restart, a network blip, a full disk being cleared):
/// a write that fails for an environmental reason is retried with exponential backoff for up to one lease. Every
/// write is an idempotent upsert fenced by the lease token, so a retry never duplicates a row, and a retry that
/// lands after another worker took the run fails its fence (<see cref="LeaseLostException"/>) and writes nothing.
/// When the store stays away longer than a lease, the last error is rethrown: the worker abandons the run, whose
/// lease then expires and whose checkpoint lets the next attempt resume. The run's own token (lease lost,
/// cancellation, shutdown) ends the waiting at once.
/// </summary>
internal sealed class RetryingSink(IRunSink inner, long runId, TimeSpan budget, TimeSpan maxDelay, ILogger logger, CancellationToken runToken) : IRunSink
{
    public Task WriteEvaluationsAsync(IReadOnlyList<EvaluationRow> rows, CancellationToken cancellationToken) =>
        RetryAsync(ct => inner.WriteEvaluationsAsync(rows, ct), cancellationToken);

    public Task WriteTrainingCurveAsync(IReadOnlyList<TrainingCurveRow> rows, CancellationToken cancellationToken) =>
        RetryAsync(ct => inner.WriteTrainingCurveAsync(rows, ct), cancellationToken);

    public Task WriteGateTelemetryAsync(IReadOnlyList<GateTelemetryRow> rows, CancellationToken cancellationToken) =>
        RetryAsync(ct => inner.WriteGateTelemetryAsync(rows, ct), cancellationToken);

    public Task WriteGateStepsAsync(IReadOnlyList<GateStepRow> rows, CancellationToken cancellationToken) =>
        RetryAsync(ct => inner.WriteGateStepsAsync(rows, ct), cancellationToken);

    public Task RecordCheckpointAsync(CheckpointRecord checkpoint, CancellationToken cancellationToken) =>
        RetryAsync(ct => inner.RecordCheckpointAsync(checkpoint, ct), cancellationToken);

    public Task RecordDatasetFingerprintAsync(string fingerprint, CancellationToken cancellationToken) =>
        RetryAsync(ct => inner.RecordDatasetFingerprintAsync(fingerprint, ct), cancellationToken);

    public Task ReportProgressAsync(double progress, string? note, CancellationToken cancellationToken) =>
        RetryAsync(ct => inner.ReportProgressAsync(progress, note, ct), cancellationToken);

    public Task CompleteAsync(IReadOnlyList<RunSummaryRow> summary, CancellationToken cancellationToken) =>
        RetryAsync(ct => inner.CompleteAsync(summary, ct), cancellationToken);

    private async Task RetryAsync(Func<CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(250);
        Stopwatch? outage = null;
        while (true)
        {
            try
            {
                await write(cancellationToken).ConfigureAwait(false);
                if (outage is not null)
                {
                    WorkerLog.RunWriteRecovered(logger, runId, outage.Elapsed.TotalSeconds);
                }

                return;
            }
            catch (Exception e) when (e is StoreUnavailableException or DbException { IsTransient: true })
            {
                outage ??= Stopwatch.StartNew();
                if (outage.Elapsed + delay > budget)
                {
                    throw;
                }

                WorkerLog.RunWriteRetry(logger, runId, e.Message, delay.TotalSeconds, budget.TotalSeconds);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, runToken);
                await Task.Delay(delay, linked.Token).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(maxDelay.Ticks, delay.Ticks * 2));
            }
        }
    }
}
