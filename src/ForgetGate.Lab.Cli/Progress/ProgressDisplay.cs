using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using ForgetGate.Lab.Core.Training;
using ForgetGate.Lab.Storage;
using Spectre.Console;

namespace ForgetGate.Lab.Cli.Progress;

/// <summary>Where a sweep stands, as the store says: run counts per status and the mean progress of its runs.</summary>
internal sealed record SweepSnapshot(long Queued, long Running, long Succeeded, long Failed, long Cancelled, double MeanProgress, IReadOnlyDictionary<long, FinishedRun> Finished)
{
    public long Total => Queued + Running + Succeeded + Failed + Cancelled;

    public long Done => Succeeded + Failed + Cancelled;
}

/// <summary>How a run ended: one of <see cref="RunStatus"/> (succeeded, failed, cancelled) and the error of a failed run.</summary>
internal sealed record FinishedRun(string Status, string? Error);

/// <summary>
/// Live progress of a sweep worked by a local worker: per run the task, epoch, batch, loss, samples/s and ETA, and
/// the sweep's overall progress (runs done, failed, running; mean progress). On a terminal it is a Spectre.Console
/// progress display; when output is redirected (CI, logs) it prints plain timestamped lines instead: a run's progress
/// at most every few seconds, each run's outcome, and the sweep's progress whenever a run ends.
/// Run progress arrives from the worker's threads (<see cref="Report"/>); outcomes and the overall counts come from
/// the store, polled while the work runs, so runs finished by other workers on a shared store count too.
/// </summary>
internal sealed class ProgressDisplay
{
    private readonly ConcurrentDictionary<long, RunLine> _runs = new();
    private readonly Func<long, string> _label;
    private readonly string _sweep;
    private readonly IAnsiConsole _console;
    private readonly TextWriter _plain;
    private readonly TimeSpan _lineEvery;
    private readonly TimeSpan _pollEvery;
    private readonly Lock _sync = new();
    private ProgressContext? _context;
    private ProgressTask? _overall;
    private SweepSnapshot? _last;

    /// <param name="sweep">The sweep's name, shown on the overall line.</param>
    /// <param name="label">A run's label (e.g. "[lstm seed 1]").</param>
    /// <param name="console">The terminal (default: the process's); <see cref="IsInteractive"/> follows its capabilities.</param>
    /// <param name="plain">Where plain lines go when not interactive (default: standard output).</param>
    /// <param name="interactive">Forces the mode; default: a terminal whose output is not redirected.</param>
    /// <param name="lineEvery">Plain mode: least time between two progress lines of a run.</param>
    /// <param name="pollEvery">How often the store is asked for outcomes and counts.</param>
    public ProgressDisplay(string sweep, Func<long, string> label, IAnsiConsole? console = null, TextWriter? plain = null, bool? interactive = null, TimeSpan? lineEvery = null, TimeSpan? pollEvery = null)
    {
        _sweep = sweep;
        _label = label;
        _console = console ?? AnsiConsole.Console;
        _plain = plain ?? Console.Out;
        IsInteractive = interactive ?? (console is null ? TerminalIsInteractive : _console.Profile.Capabilities.Interactive);
        _lineEvery = lineEvery ?? TimeSpan.FromSeconds(5);
        _pollEvery = pollEvery ?? TimeSpan.FromSeconds(1);
    }

    /// <summary>Whether the process's output is a terminal that can show the live display.</summary>
    public static bool TerminalIsInteractive => !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>Whether this display is the live one (else plain lines).</summary>
    public bool IsInteractive { get; }

    /// <summary>
    /// Runs <paramref name="work"/> with the display active, polling <paramref name="poll"/> (given the runs seen so far)
    /// until the work ends and once more after, so the last frame shows every outcome. Exceptions of the work propagate
    /// after the display has ended.
    /// </summary>
    public async Task RunAsync(Func<Task> work, Func<IReadOnlyCollection<long>, CancellationToken, Task<SweepSnapshot>> poll)
    {
        ArgumentNullException.ThrowIfNull(work);
        ArgumentNullException.ThrowIfNull(poll);
        if (!IsInteractive)
        {
            await WithPollingAsync(work, poll).ConfigureAwait(false);
            return;
        }

        await _console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            // Fixed-width columns first: on a narrow terminal the description wraps instead of squeezing them.
            .Columns(new ProgressBarColumn { Width = 20 }, new PercentageColumn(), new TaskDescriptionColumn { Alignment = Justify.Left })
            .StartAsync(async ctx =>
            {
                lock (_sync)
                {
                    _context = ctx;
                    _overall = ctx.AddTask(Markup.Escape(OverallText(null)), maxValue: 1.0);
                }

                try
                {
                    await WithPollingAsync(work, poll).ConfigureAwait(false);
                }
                finally
                {
                    lock (_sync)
                    {
                        _overall.StopTask();
                        _context = null;
                    }
                }
            }).ConfigureAwait(false);
    }

    /// <summary>Receives a run's progress (called on the worker's threads).</summary>
    public void Report(long runId, RunProgress p)
    {
        var line = _runs.GetOrAdd(runId, id => new RunLine(id, Stopwatch.StartNew()));
        double fraction = Math.Clamp(p.Fraction, 0, 1);
        var elapsed = line.Clock.Elapsed;
        string eta = fraction > 0.01 ? FormatSpan(TimeSpan.FromSeconds(elapsed.TotalSeconds * (1 - fraction) / fraction)) : "?";
        string text = string.Create(CultureInfo.InvariantCulture,
            $"run {runId} {_label(runId)}: task {p.Task}/{p.TaskCount} epoch {p.Epoch}/{p.EpochCount} batch {p.Batch}/{p.BatchCount} loss {p.Loss:F4} {p.SamplesPerSecond:F0} samples/s ETA {eta}");
        lock (_sync)
        {
            if (line.Outcome is not null)
            {
                return; // a late report after the run ended must not reopen its line
            }

            if (_context is { } ctx)
            {
                line.Task ??= ctx.AddTaskBefore(Markup.Escape(text), _overall!, maxValue: 1.0);
                line.Task.Description = Markup.Escape(text);
                line.Task.Value = fraction;
                return;
            }

            if (!IsInteractive && (line.LastLine is null || elapsed - line.LastLine >= _lineEvery || fraction >= 1))
            {
                line.LastLine = elapsed;
                PlainLine(text);
            }
        }
    }

    private async Task WithPollingAsync(Func<Task> work, Func<IReadOnlyCollection<long>, CancellationToken, Task<SweepSnapshot>> poll)
    {
        using var stop = new CancellationTokenSource();
        var polling = PollLoopAsync(poll, stop.Token);
        try
        {
            await work().ConfigureAwait(false);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await polling.ConfigureAwait(false);
        }

        // The final state, after the worker has stopped: every run's outcome and the sweep's counts.
        Apply(await poll(Unfinished(), CancellationToken.None).ConfigureAwait(false));
    }

    private async Task PollLoopAsync(Func<IReadOnlyCollection<long>, CancellationToken, Task<SweepSnapshot>> poll, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                Apply(await poll(Unfinished(), stop).ConfigureAwait(false));
                await Task.Delay(_pollEvery, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // The display must not end the work: a failed poll (store busy) is tried again next period.
            catch (Exception)
#pragma warning restore CA1031
            {
                await Task.Delay(_pollEvery, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The runs seen whose outcome is not known yet: the only ones the store is asked about.</summary>
    private long[] Unfinished() => [.. _runs.Where(r => r.Value.Outcome is null).Select(r => r.Key)];

    private void Apply(SweepSnapshot snapshot)
    {
        lock (_sync)
        {
            foreach (var (runId, outcome) in snapshot.Finished)
            {
                var line = _runs.GetOrAdd(runId, id => new RunLine(id, Stopwatch.StartNew()));
                if (line.Outcome is not null)
                {
                    continue;
                }

                line.Outcome = outcome;
                string text = string.Create(CultureInfo.InvariantCulture, $"run {runId} {_label(runId)}: {outcome.Status}{(outcome.Error is { Length: > 0 } e ? ": " + OneLine(e) : "")}");
                if (_context is { } ctx)
                {
                    line.Task ??= ctx.AddTaskBefore("", _overall!, maxValue: 1.0);
                    line.Task.Description = Markup.Escape(text);
                    if (outcome.Status == RunStatus.Succeeded)
                    {
                        line.Task.Value = line.Task.MaxValue;
                    }

                    line.Task.StopTask();
                }
                else if (!IsInteractive)
                {
                    PlainLine(text);
                }
            }

            bool changed = _last is null || _last.Done != snapshot.Done || _last.Running != snapshot.Running || _last.Total != snapshot.Total;
            _last = snapshot;
            if (_overall is { } overall)
            {
                overall.Description = Markup.Escape(OverallText(snapshot));
                overall.Value = Math.Clamp(snapshot.MeanProgress, 0, 1);
            }
            else if (!IsInteractive && changed)
            {
                PlainLine(OverallText(snapshot));
            }
        }
    }

    private string OverallText(SweepSnapshot? s) => s is null
        ? $"sweep '{_sweep}': starting"
        : string.Create(CultureInfo.InvariantCulture,
            $"sweep '{_sweep}': {s.Done} of {s.Total} runs done ({s.Succeeded} succeeded, {s.Failed} failed, {s.Cancelled} cancelled), {s.Running} running, {s.Queued} queued, {s.MeanProgress:P0}");

    private void PlainLine(string text) =>
        _plain.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ssZ} {text}"));

    private static string OneLine(string text)
    {
        string line = string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        return line.Length <= 160 ? line : line[..157] + "...";
    }

    private static string FormatSpan(TimeSpan t) =>
        t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : t.ToString(@"m\:ss", CultureInfo.InvariantCulture);

    /// <summary>One run's line: its clock (for the ETA), its live task, its last plain line and its outcome once known.</summary>
    private sealed class RunLine(long id, Stopwatch clock)
    {
        public long Id { get; } = id;

        public Stopwatch Clock { get; } = clock;

        public ProgressTask? Task { get; set; }

        public TimeSpan? LastLine { get; set; }

        public FinishedRun? Outcome { get; set; }
    }
}
