using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ForgetGate.Lab.Cli.Worker;

/// <summary>
/// The hosted worker: N slots, each claiming a run, executing it under a heartbeat, and recording the outcome.
/// A failing run never stops the worker; a read-only or full store, or checkpoint storage that cannot be written, stops
/// claiming with backoff until it recovers (a run that met the outage is released without burning an attempt); with
/// <see cref="WorkerOptions.OutageWaitSeconds"/> the worker gives up after that long and stops (<c>run</c> exits 3);
/// on shutdown every running run is cancelled, checkpoints itself and is released without burning an attempt.
/// </summary>
internal sealed partial class RunWorker : BackgroundService
{
    private readonly IRunStore _store;
    private readonly WorkerOptions _options;
    private readonly Dictionary<string, IRunExecutor> _executors;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly WorkerOutcome _outcome;
    private readonly ILogger<RunWorker> _logger;
    private readonly string _owner;
    private readonly string _checkpointRoot;
    private readonly string _environmentJson;
    private readonly string _codeVersion = WorkerEnvironment.CodeVersion();
    private int _storeFaulted;
    private long _storeOutageSinceTicks;

    // The checkpoint storage outage, shared by every slot: while Active no slot claims; Since runs on across a probe
    // that passes until a run records a checkpoint again (a disk with a little space left passes the probe and still
    // fails the next checkpoint), so the bound on the wait is not reset by a false recovery.
    private readonly Lock _outageLock = new();
    private CheckpointOutageState? _checkpointOutage;
    private Task<bool>? _checkpointWait;

    // The quarantine rule (ClaimUnderGateAsync): one claim at a time in this process, the runs in flight, and whether
    // a quarantined run is running alone now.
    private readonly SemaphoreSlim _claimGate = new(1, 1);
    private int _inFlight;
    private volatile bool _aloneRunning;

    // Cancelled on shutdown and when the worker gives up waiting for an outage: either way running runs are released.
    private CancellationTokenSource? _stop;

    public RunWorker(IRunStore store, IOptions<WorkerOptions> options, IEnumerable<IRunExecutor> executors, IHostApplicationLifetime lifetime, WorkerOutcome outcome, ILogger<RunWorker> logger)
    {
        _store = store;
        _options = options.Value;
        _executors = executors.ToDictionary(e => e.Name, StringComparer.Ordinal);
        _lifetime = lifetime;
        _outcome = outcome;
        _logger = logger;
        _owner = _options.Owner ?? string.Create(CultureInfo.InvariantCulture, $"{Environment.MachineName}:{Environment.ProcessId}");
        _environmentJson = WorkerEnvironment.Describe(_options.ThreadsPerRun);
        _checkpointRoot = _options.CheckpointRoot
            ?? Path.Combine(RunStores.LocalDirectory(_options.Database), "checkpoints");
    }

    private TimeSpan Lease => TimeSpan.FromSeconds(_options.LeaseSeconds);

    protected override async Task ExecuteAsync(CancellationToken hostStopping)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(hostStopping);
        _stop = stop;
        var stoppingToken = stop.Token;
        try
        {
            if (_options.ConcurrencyChoice is { } choice)
            {
                WorkerLog.ConcurrencyChosen(_logger, choice);
            }

            WorkerLog.Started(_logger, _owner, _store.Location, _options.Concurrency, _options.ThreadsPerRun, _options.LeaseSeconds, _options.HeartbeatSeconds);
            int applied = await WithStoreRetryAsync(() => _store.MigrateAsync(stoppingToken), stoppingToken).ConfigureAwait(false);
            WorkerLog.Migrated(_logger, applied);

            if (_options.GpuBatch > 0)
            {
                PrepareGpuSlots();
            }

            var slots = Enumerable.Range(0, _options.Concurrency).Select(slot => Task.Run(() => _options.GpuBatch > 0 ? GpuSlotAsync(slot, stoppingToken) : SlotAsync(slot, stoppingToken), CancellationToken.None));
            await Task.WhenAll(slots).ConfigureAwait(false);
            if (_options.UntilEmpty && !stoppingToken.IsCancellationRequested)
            {
                WorkerLog.Drained(_logger);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
#pragma warning disable CA1031 // The worker's last line of defence: log, set the exit code, stop the host.
        catch (Exception e)
#pragma warning restore CA1031
        {
            WorkerLog.Crashed(_logger, e);
            Environment.ExitCode = 1;
        }
        finally
        {
            _lifetime.StopApplication();
        }
    }

    private async Task SlotAsync(int slot, CancellationToken stoppingToken)
    {
        var poll = TimeSpan.FromSeconds(_options.PollSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            ClaimedRun? run;
            try
            {
                if (!await WaitForCheckpointStorageAsync(stoppingToken).ConfigureAwait(false))
                {
                    return; // gave up waiting
                }

                run = await WithStoreRetryAsync(async () =>
                {
                    int rescued = await _store.RescueExpiredAsync(stoppingToken).ConfigureAwait(false);
                    if (rescued > 0)
                    {
                        WorkerLog.Rescued(_logger, rescued);
                    }

                    return await ClaimUnderGateAsync(request => _store.ClaimAsync(request, stoppingToken), run => run is null ? [] : [run], stoppingToken).ConfigureAwait(false);
                }, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }

            if (run is null)
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
                await ExecuteRunAsync(slot, run, stoppingToken).ConfigureAwait(false);
            }
            finally
            {
                EndInFlight([run]);
            }
        }
    }

    /// <summary>
    /// Claims for one slot under the process's claim gate, so the quarantine rule holds (RunStore.RescueExpiredAsync):
    /// with more than one slot every lease is marked shared (a process death would take all slots' runs down, and
    /// none of them is charged for it); a quarantined run is taken only when this process runs nothing else, and
    /// while it runs no other slot claims, so its next crash is its own and counts. <paramref name="runsOf"/> lists
    /// what <paramref name="claim"/> returned; every run listed is in flight until <see cref="EndInFlight"/>.
    /// </summary>
    private async Task<T> ClaimUnderGateAsync<T>(Func<ClaimRequest, Task<T>> claim, Func<T, IReadOnlyList<ClaimedRun>> runsOf, CancellationToken stoppingToken)
    {
        await _claimGate.WaitAsync(stoppingToken).ConfigureAwait(false);
        try
        {
            if (_aloneRunning)
            {
                return default!; // nothing claimed: a quarantined run has this process to itself
            }

            bool alone = Volatile.Read(ref _inFlight) == 0;
            var request = new ClaimRequest(_owner, Lease, _codeVersion, _environmentJson, _options.SweepId, Shared: _options.Concurrency > 1, AllowQuarantined: alone);
            var result = await claim(request).ConfigureAwait(false);
            var runs = runsOf(result);
            Interlocked.Add(ref _inFlight, runs.Count);
            if (runs.Any(r => r.Quarantined))
            {
                _aloneRunning = true;
                WorkerLog.RunningAlone(_logger, runs[0].RunId);
            }

            return result;
        }
        finally
        {
            _claimGate.Release();
        }
    }

    /// <summary>Marks the runs of one claim as ended (they no longer keep a quarantined run from being claimed, or other slots from claiming).</summary>
    private void EndInFlight(IReadOnlyList<ClaimedRun> runs)
    {
        if (runs.Any(r => r.Quarantined))
        {
            _aloneRunning = false;
        }

        Interlocked.Add(ref _inFlight, -runs.Count);
    }

    public override void Dispose()
    {
        _claimGate.Dispose();
        base.Dispose();
    }

    private async Task<bool> IsDrainedAsync(CancellationToken stoppingToken)
    {
        var status = await WithStoreRetryAsync(() => _store.GetStatusAsync(stoppingToken), stoppingToken).ConfigureAwait(false);
        return status.Where(s => _options.SweepId is null || s.SweepId == _options.SweepId).All(s => s.Queued == 0 && s.Running == 0);
    }

    private async Task ExecuteRunAsync(int slot, ClaimedRun run, CancellationToken stoppingToken, Numerics.Engines.IModelEngine? engine = null)
    {
        WorkerLog.Claimed(_logger, run.RunId, run.Attempt, run.MaxAttempts, slot, run.LastCheckpoint?.Path ?? "start");
        var clock = Stopwatch.StartNew();
        using var runCancellation = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var state = new RunState();
        using var heartbeatStop = new CancellationTokenSource();
        var heartbeat = HeartbeatAsync(run, state, runCancellation, heartbeatStop.Token);
        // Writes ride out a store outage for up to one lease (then the run is abandoned and resumes elsewhere).
        var sink = new TrackingSink(new RetryingSink(_store.OpenSink(run), run.RunId, Lease, TimeSpan.FromSeconds(_options.StoreRetryMaxSeconds), _logger, runCancellation.Token));
        string outcome = "execution";
        string directory = Path.Combine(_checkpointRoot, string.Create(CultureInfo.InvariantCulture, $"run-{run.RunId:D6}"));
        try
        {
            var executor = SelectExecutor(run);
            Directory.CreateDirectory(directory);
            var context = new RunContext(run.RunId, run.SweepId, run.ConfigJson, run.ConfigHash, run.Seed, run.Attempt, _options.ThreadsPerRun, directory, run.LastCheckpoint, sink) { Engine = engine };
            await executor.ExecuteAsync(context, runCancellation.Token).ConfigureAwait(false);
            if (!sink.Completed)
            {
                await sink.CompleteAsync([], CancellationToken.None).ConfigureAwait(false);
            }

            WorkerLog.Succeeded(_logger, run.RunId, clock.Elapsed.TotalSeconds);
        }
        catch (Exception e) when (e is LeaseLostException || (e is OperationCanceledException && state.LeaseLost))
        {
            WorkerLog.LeaseLost(_logger, run.RunId);
        }
        catch (OperationCanceledException) when (state.CancelRequested)
        {
            outcome = "cancellation";
            await BookkeepAsync(run, outcome, () => _store.MarkCancelledAsync(run.RunId, run.LeaseToken, CancellationToken.None)).ConfigureAwait(false);
            WorkerLog.Cancelled(_logger, run.RunId);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            outcome = "shutdown";
            bool released = await BookkeepAsync(run, outcome, () => _store.ReleaseAsync(run.RunId, run.LeaseToken, CancellationToken.None)).ConfigureAwait(false);
            WorkerLog.Released(_logger, run.RunId, released);
        }
        catch (NonRetryableRunException e)
        {
            outcome = "non-retryable failure";
            WorkerLog.FailedNonRetryable(_logger, run.RunId, e.Message);
            await BookkeepAsync(run, outcome, () => _store.FailAsync(run.RunId, run.LeaseToken, e.Message, retryable: false, CancellationToken.None)).ConfigureAwait(false);
        }
        catch (StoreUnavailableException e)
        {
            // Nothing more can be written now; the lease runs out and a rescue requeues the run, which then
            // resumes from its last recorded checkpoint. The slot's next claim backs off until the store recovers.
            WorkerLog.RunStoreFault(_logger, run.RunId, e.Message);
        }
        catch (Exception e) when (!state.LeaseLost && CheckpointStorage.Outage(e, directory) is { } why)
        {
            // Not the run's fault, and another attempt now would fail the same way: give the attempt back (the run
            // resumes from its last recorded checkpoint) and stop claiming until the storage takes writes again.
            outcome = "checkpoint storage outage";
            EnterCheckpointOutage(directory, why);
            bool released = await BookkeepAsync(run, outcome, () => _store.ReleaseAsync(run.RunId, run.LeaseToken, CancellationToken.None)).ConfigureAwait(false);
            WorkerLog.CheckpointOutage(_logger, run.RunId, directory, why, released);
        }
#pragma warning disable CA1031 // A failing run must never take the worker down.
        catch (Exception e)
#pragma warning restore CA1031
        {
            outcome = "retryable failure";
            if (run.Attempt < run.MaxAttempts)
            {
                WorkerLog.FailedRetryable(_logger, e, run.RunId, run.Attempt, run.MaxAttempts);
            }
            else
            {
                WorkerLog.FailedLastAttempt(_logger, e, run.RunId, run.Attempt, run.MaxAttempts);
            }

            string message = string.Create(CultureInfo.InvariantCulture, $"attempt {run.Attempt}: {e.GetType().Name}: {e.Message}");
            await BookkeepAsync(run, outcome, () => _store.FailAsync(run.RunId, run.LeaseToken, message, retryable: true, CancellationToken.None)).ConfigureAwait(false);
        }
        finally
        {
            await heartbeatStop.CancelAsync().ConfigureAwait(false);
            await heartbeat.ConfigureAwait(false);
            if (sink.RecordedCheckpoint && outcome != "checkpoint storage outage")
            {
                EndCheckpointOutage();
            }
        }
    }

    private void EnterCheckpointOutage(string path, string why)
    {
        lock (_outageLock)
        {
            _checkpointOutage = _checkpointOutage is { } known
                ? known with { Path = path, Why = why, Active = true }
                : new CheckpointOutageState(path, why, DateTime.UtcNow, Active: true);
        }
    }

    private void EndCheckpointOutage()
    {
        lock (_outageLock)
        {
            _checkpointOutage = null;
        }
    }

    /// <summary>
    /// Returns at once while the checkpoint storage works; during an outage every slot waits here on one shared
    /// backoff loop that probes the storage. False when the worker gave up (<see cref="WorkerOptions.OutageWaitSeconds"/>).
    /// </summary>
    private Task<bool> WaitForCheckpointStorageAsync(CancellationToken stoppingToken)
    {
        lock (_outageLock)
        {
            if (_checkpointOutage is not { Active: true })
            {
                return Task.FromResult(_outcome.GaveUp is null);
            }

            return _checkpointWait ??= Task.Run(() => CheckpointBackoffAsync(stoppingToken), CancellationToken.None);
        }
    }

    private async Task<bool> CheckpointBackoffAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromMilliseconds(250);
        var max = TimeSpan.FromSeconds(_options.StoreRetryMaxSeconds);
        try
        {
            while (true)
            {
                CheckpointOutageState outage;
                lock (_outageLock)
                {
                    outage = _checkpointOutage!;
                }

                double waited = (DateTime.UtcNow - outage.Since).TotalSeconds;
                if (!CheckBound(waited, out var wait, delay, $"checkpoint storage '{outage.Path}' {outage.Why}"))
                {
                    return false;
                }

                WorkerLog.CheckpointStorageUnavailable(_logger, outage.Path, outage.Why, wait.TotalSeconds, waited, BoundText());
                await Task.Delay(wait, stoppingToken).ConfigureAwait(false);
                if (CheckpointStorage.Probe(outage.Path) is { } still)
                {
                    lock (_outageLock)
                    {
                        _checkpointOutage = _checkpointOutage! with { Why = still };
                    }

                    delay = TimeSpan.FromTicks(Math.Min(max.Ticks, delay.Ticks * 2));
                    continue;
                }

                WorkerLog.CheckpointStorageRecovered(_logger, outage.Path);
                lock (_outageLock)
                {
                    _checkpointOutage = _checkpointOutage! with { Active = false };
                }

                return true;
            }
        }
        finally
        {
            lock (_outageLock)
            {
                _checkpointWait = null;
            }
        }
    }

    /// <summary>
    /// False (after giving up: the reason recorded, the worker stopped) when the outage has lasted the bound; else the
    /// next <paramref name="wait"/>, <paramref name="delay"/> cut to what is left of the bound.
    /// </summary>
    private bool CheckBound(double waitedSeconds, out TimeSpan wait, TimeSpan delay, string what)
    {
        wait = delay;
        if (_options.OutageWaitSeconds is not { } bound)
        {
            return true;
        }

        if (waitedSeconds < bound)
        {
            wait = TimeSpan.FromSeconds(Math.Min(delay.TotalSeconds, bound - waitedSeconds));
            return true;
        }

        string message = string.Create(CultureInfo.InvariantCulture,
            $"{what}; gave up after waiting {bound:0.##} s (--outage-wait). No attempt was spent: the runs are queued and resume from their last checkpoint when the command is run again.");
        if (_outcome.TrySetGaveUp(message))
        {
            WorkerLog.GaveUp(_logger, message);
        }

        Environment.ExitCode = 3; // ExitCodes.Unavailable: the store or a file cannot be used
        _stop?.Cancel();
        _lifetime.StopApplication();
        return false;
    }

    private string BoundText() => _options.OutageWaitSeconds is { } bound
        ? string.Create(CultureInfo.InvariantCulture, $"; giving up after {bound:0.##}s")
        : "";

    private IRunExecutor SelectExecutor(ClaimedRun run)
    {
        string name;
        try
        {
            using var document = JsonDocument.Parse(run.ConfigJson);
            name = document.RootElement.TryGetProperty("executor", out var value) ? value.GetString() ?? "" : "training";
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new NonRetryableRunException($"Run {run.RunId}: config_json is not a JSON object with a string 'executor': {e.Message}", e);
        }

        return _executors.TryGetValue(name, out var executor)
            ? executor
            : throw new NonRetryableRunException($"Run {run.RunId}: config field 'executor' = '{name}' names no registered executor; known: {string.Join(", ", _executors.Keys.Order(StringComparer.Ordinal))}.");
    }

    private async Task HeartbeatAsync(ClaimedRun run, RunState state, CancellationTokenSource runCancellation, CancellationToken stop)
    {
        var period = TimeSpan.FromSeconds(_options.HeartbeatSeconds);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(period, stop).ConfigureAwait(false);
                var beat = await _store.HeartbeatAsync(run.RunId, run.LeaseToken, Lease, stop).ConfigureAwait(false);
                if (beat is null)
                {
                    state.LeaseLost = true;
                    await runCancellation.CancelAsync().ConfigureAwait(false);
                    return;
                }

                if (beat.CancelRequested && !state.CancelRequested)
                {
                    state.CancelRequested = true;
                    await runCancellation.CancelAsync().ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // A heartbeat that fails (busy, I/O) is retried; the lease covers several missed beats.
            catch (Exception e)
#pragma warning restore CA1031
            {
                WorkerLog.HeartbeatFailed(_logger, run.RunId, e.Message);
            }
        }
    }

    private async Task<bool> BookkeepAsync(ClaimedRun run, string outcome, Func<Task<bool>> write)
    {
        try
        {
            return await write().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Bookkeeping after a run may fail (store gone); the lease then expires and a rescue takes over.
        catch (Exception e)
#pragma warning restore CA1031
        {
            WorkerLog.BookkeepingFailed(_logger, e, run.RunId, outcome);
            return false;
        }
    }

    /// <summary>Runs a store call, waiting with exponential backoff while the store is read-only, full or unavailable.</summary>
    private async Task<T> WithStoreRetryAsync<T>(Func<Task<T>> call, CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromMilliseconds(250);
        var max = TimeSpan.FromSeconds(_options.StoreRetryMaxSeconds);
        while (true)
        {
            try
            {
                var result = await call().ConfigureAwait(false);
                if (Interlocked.Exchange(ref _storeFaulted, 0) == 1)
                {
                    Interlocked.Exchange(ref _storeOutageSinceTicks, 0);
                    WorkerLog.StoreRecovered(_logger);
                }

                return result;
            }
            catch (StoreUnavailableException e)
            {
                var wait = StoreOutageWait(delay, e.Message.TrimEnd('.'));
                WorkerLog.StoreUnavailable(_logger, e.Fault, e.Message, wait.TotalSeconds);
                await Task.Delay(wait, stoppingToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(max.Ticks, delay.Ticks * 2));
            }
            catch (DbException e)
            {
                // Anything else the database says (e.g. still busy after the busy timeout): same backoff, other words.
                var wait = StoreOutageWait(delay, $"store '{_store.Location}': {e.Message.Trim().TrimEnd('.')}");
                WorkerLog.StoreError(_logger, e.Message, wait.TotalSeconds);
                await Task.Delay(wait, stoppingToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(max.Ticks, delay.Ticks * 2));
            }
        }
    }

    /// <summary>Marks the store as faulted (the outage clock starts at the first fault) and returns the next wait; past the bound it gives up and throws as a stop does.</summary>
    private TimeSpan StoreOutageWait(TimeSpan delay, string what)
    {
        Interlocked.Exchange(ref _storeFaulted, 1);
        long now = DateTime.UtcNow.Ticks;
        long since = Interlocked.CompareExchange(ref _storeOutageSinceTicks, now, 0);
        double waited = since == 0 ? 0 : TimeSpan.FromTicks(now - since).TotalSeconds;
        if (!CheckBound(waited, out var wait, delay, what))
        {
            throw new OperationCanceledException(_stop?.Token ?? CancellationToken.None);
        }

        return wait;
    }

    private static async Task DelayAsync(TimeSpan delay, CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(delay, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>An outage of the checkpoint storage: where, why, since when, and whether claiming waits for it now.</summary>
    private sealed record CheckpointOutageState(string Path, string Why, DateTime Since, bool Active);

    /// <summary>What the heartbeat learned about a run, read by the slot when the executor stops.</summary>
    private sealed class RunState
    {
        public volatile bool LeaseLost;
        public volatile bool CancelRequested;
    }
}
