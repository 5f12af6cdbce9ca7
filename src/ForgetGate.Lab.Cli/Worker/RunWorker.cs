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
/// A failing run never stops the worker; a read-only or full store stops claiming with backoff until it recovers;
/// on shutdown every running run is cancelled, checkpoints itself and is released without burning an attempt.
/// </summary>
internal sealed partial class RunWorker : BackgroundService
{
    private readonly IRunStore _store;
    private readonly WorkerOptions _options;
    private readonly Dictionary<string, IRunExecutor> _executors;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger<RunWorker> _logger;
    private readonly string _owner;
    private readonly string _checkpointRoot;
    private readonly string _environmentJson;
    private readonly string _codeVersion = WorkerEnvironment.CodeVersion();
    private int _storeFaulted;

    public RunWorker(IRunStore store, IOptions<WorkerOptions> options, IEnumerable<IRunExecutor> executors, IHostApplicationLifetime lifetime, ILogger<RunWorker> logger)
    {
        _store = store;
        _options = options.Value;
        _executors = executors.ToDictionary(e => e.Name, StringComparer.Ordinal);
        _lifetime = lifetime;
        _logger = logger;
        _owner = _options.Owner ?? string.Create(CultureInfo.InvariantCulture, $"{Environment.MachineName}:{Environment.ProcessId}");
        _environmentJson = WorkerEnvironment.Describe(_options.ThreadsPerRun);
        _checkpointRoot = _options.CheckpointRoot
            ?? Path.Combine(RunStores.LocalDirectory(_options.Database), "checkpoints");
    }

    private TimeSpan Lease => TimeSpan.FromSeconds(_options.LeaseSeconds);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
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
                run = await WithStoreRetryAsync(async () =>
                {
                    int rescued = await _store.RescueExpiredAsync(stoppingToken).ConfigureAwait(false);
                    if (rescued > 0)
                    {
                        WorkerLog.Rescued(_logger, rescued);
                    }

                    return await _store.ClaimAsync(new ClaimRequest(_owner, Lease, _codeVersion, _environmentJson, _options.SweepId), stoppingToken).ConfigureAwait(false);
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

            await ExecuteRunAsync(slot, run, stoppingToken).ConfigureAwait(false);
        }
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
        try
        {
            var executor = SelectExecutor(run);
            string directory = Path.Combine(_checkpointRoot, string.Create(CultureInfo.InvariantCulture, $"run-{run.RunId:D6}"));
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
        }
    }

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
                    WorkerLog.StoreRecovered(_logger);
                }

                return result;
            }
            catch (StoreUnavailableException e)
            {
                Interlocked.Exchange(ref _storeFaulted, 1);
                WorkerLog.StoreUnavailable(_logger, e.Fault, e.Message, delay.TotalSeconds);
                await Task.Delay(delay, stoppingToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(max.Ticks, delay.Ticks * 2));
            }
            catch (DbException e)
            {
                // Anything else the database says (e.g. still busy after the busy timeout): same backoff, other words.
                Interlocked.Exchange(ref _storeFaulted, 1);
                WorkerLog.StoreError(_logger, e.Message, delay.TotalSeconds);
                await Task.Delay(delay, stoppingToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(max.Ticks, delay.Ticks * 2));
            }
        }
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

    /// <summary>What the heartbeat learned about a run, read by the slot when the executor stops.</summary>
    private sealed class RunState
    {
        public volatile bool LeaseLost;
        public volatile bool CancelRequested;
    }
}
