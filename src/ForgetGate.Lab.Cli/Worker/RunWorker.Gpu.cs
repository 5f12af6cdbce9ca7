using System.Globalization;
using ForgetGate.Lab.Gpu;
using ForgetGate.Lab.Storage;
using Microsoft.Extensions.Logging;

namespace ForgetGate.Lab.Cli.Worker;

/// <summary>
/// <c>worker --gpu</c> (DESIGN.md §13): a slot claims up to <see cref="WorkerOptions.GpuBatch"/> queued runs of one
/// <see cref="GpuBatchKey"/> and trains them together. Each run goes through <see cref="ExecuteRunAsync"/> exactly as
/// a run claimed alone (its own lease, heartbeat, cancellation, checkpoints, rows and outcome); only its network is a
/// seat in a <see cref="GpuSweepBatch"/>, so its launches are shared with the others'.
/// </summary>
internal sealed partial class RunWorker
{
    private void PrepareGpuSlots()
    {
        // Every run of a batch blocks a thread-pool thread while it waits for its round, and heartbeats and store writes
        // need pool threads too: without room for all of them the pool would grow by a thread or two a second and
        // heartbeats could starve until leases expire.
        ThreadPool.GetMinThreads(out int workers, out int io);
        int wanted = (_options.Concurrency * _options.GpuBatch * 2) + 16;
        if (workers < wanted)
        {
            ThreadPool.SetMinThreads(wanted, io);
        }

        GpuWorkerLog.Enabled(_logger, _options.GpuBatch);
    }

    private async Task GpuSlotAsync(int slot, CancellationToken stoppingToken)
    {
        var poll = TimeSpan.FromSeconds(_options.PollSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            IReadOnlyList<ClaimedRun> runs;
            try
            {
                if (!await WaitForCheckpointStorageAsync(stoppingToken).ConfigureAwait(false))
                {
                    return; // gave up waiting for the checkpoint storage (h12r)
                }

                runs = await WithStoreRetryAsync(async () =>
                {
                    int rescued = await _store.RescueExpiredAsync(stoppingToken).ConfigureAwait(false);
                    if (rescued > 0)
                    {
                        WorkerLog.Rescued(_logger, rescued);
                    }

                    // Under the quarantine rule's gate (h12r): a batch's leases are shared, a quarantined run trains alone.
                    return await ClaimUnderGateAsync(request => _store.ClaimMatchingAsync(request, _options.GpuBatch, GpuBatchKey.Of, stoppingToken), claimed => claimed ?? [], stoppingToken).ConfigureAwait(false) ?? [];
                }, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }

            if (runs.Count == 0)
            {
                if (_options.UntilEmpty && await IsDrainedAsync(stoppingToken).ConfigureAwait(false))
                {
                    return;
                }

                await DelayAsync(poll, stoppingToken).ConfigureAwait(false);
                continue;
            }

            try
            {
                if (runs.Count == 1)
                {
                    // Alone (no key, or no other run of its shape queued): the spec's own engine, as any worker runs it.
                    await ExecuteRunAsync(slot, runs[0], stoppingToken).ConfigureAwait(false);
                    continue;
                }

                await ExecuteBatchAsync(slot, runs, stoppingToken).ConfigureAwait(false);
            }
            finally
            {
                EndInFlight(runs);
            }
        }
    }

    private async Task ExecuteBatchAsync(int slot, IReadOnlyList<ClaimedRun> runs, CancellationToken stoppingToken)
    {
        string ids = string.Join(", ", runs.Select(r => r.RunId.ToString(CultureInfo.InvariantCulture)));
        GpuWorkerLog.BatchClaimed(_logger, runs.Count, ids, slot);
        using var batch = new GpuSweepBatch(runs.Count, () => GpuEngine.SharedDevice);
        var members = runs.Select((run, member) => Task.Run(async () =>
        {
            try
            {
                await ExecuteRunAsync(slot, run, stoppingToken, batch.EngineFor(member)).ConfigureAwait(false);
            }
            finally
            {
                // However the run ended (succeeded, failed before it built its network, cancelled, lease lost), the
                // others no longer wait for it.
                batch.Leave(member);
            }
        }, CancellationToken.None));
        await Task.WhenAll(members).ConfigureAwait(false);
        var s = batch.Statistics;
        GpuWorkerLog.BatchDone(_logger, runs.Count, ids, s.LaunchedCalls, s.Launches, s.RunsPerLaunch);
    }
}

/// <summary>Log messages of <c>worker --gpu</c> (event ids 1901–1999, clear of <see cref="WorkerLog"/>'s).</summary>
internal static partial class GpuWorkerLog
{
    [LoggerMessage(1901, LogLevel.Information, "GPU sweep batching: each slot trains up to {GpuBatch} queued gpu runs of one shape together")]
    public static partial void Enabled(ILogger logger, int gpuBatch);

    [LoggerMessage(1902, LogLevel.Information, "GPU batch of {Count} runs claimed: {RunIds} (slot {Slot})")]
    public static partial void BatchClaimed(ILogger logger, int count, string runIds, int slot);

    [LoggerMessage(1903, LogLevel.Information, "GPU batch of {Count} runs done: {RunIds}; {Calls} forward/backward passes in {Launches} batched launches ({RunsPerLaunch:F2} runs per launch)")]
    public static partial void BatchDone(ILogger logger, int count, string runIds, long calls, long launches, double runsPerLaunch);
}
