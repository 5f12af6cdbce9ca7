using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using ForgetGate.Lab.Core.Training;
using Spectre.Console;

namespace ForgetGate.Lab.Cli.Progress;

/// <summary>
/// Live progress of the runs a local worker executes: per run the task, epoch, batch, loss, samples/s and ETA,
/// plus the sweep's overall share done. On a terminal it is a Spectre.Console progress display; when output is
/// redirected (CI, logs) it prints a plain timestamped line per run at most every few seconds.
/// </summary>
internal sealed class ProgressDisplay
{
    private static readonly TimeSpan s_lineEvery = TimeSpan.FromSeconds(5);
    private readonly ConcurrentDictionary<long, (Stopwatch Clock, TimeSpan LastLine)> _runs = new();
    private readonly ConcurrentDictionary<long, ProgressTask> _tasks = new();
    private readonly Func<long, string> _label;
    private ProgressContext? _context;

    public ProgressDisplay(Func<long, string> label) => _label = label;

    /// <summary>Whether the rich display is used (a terminal, not redirected).</summary>
    public static bool Interactive => !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>Runs <paramref name="work"/> with the display active.</summary>
    public async Task RunAsync(Func<Task> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (!Interactive)
        {
            await work().ConfigureAwait(false);
            return;
        }

        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx =>
            {
                _context = ctx;
                await work().ConfigureAwait(false);
            }).ConfigureAwait(false);
    }

    /// <summary>Receives a run's progress (called on the worker's threads).</summary>
    public void Report(long runId, RunProgress p)
    {
        var (clock, last) = _runs.GetOrAdd(runId, _ => (Stopwatch.StartNew(), TimeSpan.Zero));
        double fraction = Math.Clamp(p.Fraction, 0, 1);
        var elapsed = clock.Elapsed;
        string eta = fraction > 0.01 ? FormatSpan(TimeSpan.FromSeconds(elapsed.TotalSeconds * (1 - fraction) / fraction)) : "?";
        string text = string.Create(CultureInfo.InvariantCulture,
            $"run {runId} {_label(runId)}: task {p.Task}/{p.TaskCount} epoch {p.Epoch}/{p.EpochCount} batch {p.Batch}/{p.BatchCount} loss {p.Loss:F4} {p.SamplesPerSecond:F0} samples/s ETA {eta}");
        if (_context is { } ctx)
        {
            var task = _tasks.GetOrAdd(runId, _ => ctx.AddTask(Markup.Escape(text), maxValue: 1.0));
            task.Description = Markup.Escape(text);
            task.Value = fraction;
            return;
        }

        if (elapsed - last >= s_lineEvery || fraction >= 1)
        {
            _runs[runId] = (clock, elapsed);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ssZ} {text}"));
        }
    }

    private static string FormatSpan(TimeSpan t) =>
        t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : t.ToString(@"m\:ss", CultureInfo.InvariantCulture);
}
