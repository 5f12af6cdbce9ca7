using System.Text;
using System.Text.RegularExpressions;
using ForgetGate.Lab.Cli.Progress;
using ForgetGate.Lab.Core.Training;
using Spectre.Console;

namespace ForgetGate.Lab.Cli.Tests.Progress;

/// <summary>
/// The live progress display driven through a real Spectre console (ANSI and interactive forced) writing into a
/// string, and the plain-line mode: what a researcher sees while a sweep runs, and how the display ends.
/// </summary>
public sealed partial class ProgressDisplayTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(10);

    /// <summary>Spectre renders from its own thread: writes and reads of the text must not interleave.</summary>
    private sealed class LockedStringWriter : StringWriter
    {
        private readonly Lock _sync = new();

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value)
        {
            lock (_sync)
            {
                base.Write(value);
            }
        }

        public override void Write(string? value)
        {
            lock (_sync)
            {
                base.Write(value);
            }
        }

        public override void Write(char[] buffer, int index, int count)
        {
            lock (_sync)
            {
                base.Write(buffer, index, count);
            }
        }

        public override string ToString()
        {
            lock (_sync)
            {
                return base.ToString();
            }
        }
    }

    private static (IAnsiConsole Console, LockedStringWriter Writer) Terminal()
    {
        var writer = new LockedStringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Yes,
            ColorSystem = ColorSystemSupport.Standard,
            Interactive = InteractionSupport.Yes,
            Out = new AnsiConsoleOutput(writer),
            Enrichment = new ProfileEnrichment { UseDefaultEnrichers = false }, // no CI detection: the test forces the terminal
        });
        console.Profile.Width = 220;
        return (console, writer);
    }

    /// <summary>The rendered text without ANSI sequences: every frame, one after the other.</summary>
    private static string Text(StringWriter writer) => Ansi().Replace(writer.ToString(), "");

    private static async Task UntilAsync(Func<bool> condition, Func<string> state)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < s_wait, "Timed out; rendered so far:\n" + state());
            await Task.Delay(20);
        }
    }

    private static SweepSnapshot Snapshot(long queued, long running, long succeeded, long failed, double progress, params (long Run, FinishedRun Outcome)[] finished) =>
        new(queued, running, succeeded, failed, 0, progress, finished.ToDictionary(f => f.Run, f => f.Outcome));

    [Fact]
    public async Task RunAsync_LiveTerminal_ShowsEachRunsProgressAndTheSweepThenEndsWithOutcomesAndCursorBack()
    {
        var (console, writer) = Terminal();
        var display = new ProgressDisplay("quick", id => $"[lstm seed {id}]", console, pollEvery: TimeSpan.FromMilliseconds(20));
        Assert.True(display.IsInteractive);
        var state = Snapshot(1, 2, 0, 0, 0.4);

        await display.RunAsync(
            async () =>
            {
                display.Report(1, new RunProgress(1, 2, 1, 1, 3, 6, 0.4321, 5321.4, 0.25));
                display.Report(2, new RunProgress(2, 2, 2, 3, 5, 10, 1.2345, 987, 0.6));
                await UntilAsync(() => Text(writer).Contains("sweep 'quick': 0 of 3 runs done", StringComparison.Ordinal) && Text(writer).Contains("batch 5/10", StringComparison.Ordinal), () => Text(writer));

                // Run 1 finishes, run 2 fails, run 3 is never claimed here (the sweep's third point, e.g. cancelled).
                display.Report(1, new RunProgress(2, 2, 1, 1, 6, 6, 0.1111, 5400, 1.0));
                state = Snapshot(0, 0, 1, 1, 0.8, (1, new FinishedRun("succeeded", null)), (2, new FinishedRun("failed", "attempt 3: IOException: disk on fire\n   at Somewhere()")));
                state = state with { Cancelled = 1 };
                await UntilAsync(() => Text(writer).Contains("run 2 [lstm seed 2]: failed", StringComparison.Ordinal), () => Text(writer));
                display.Report(2, new RunProgress(2, 2, 3, 3, 7, 10, 1.0, 990, 0.8)); // a late report of the failed run
                await Task.Delay(250); // more than one refresh: a reopened line would be rendered
            },
            (runs, _) => Task.FromResult(state));

        string rendered = writer.ToString();
        string text = Text(writer);

        // While running: per run the task, epoch, batch, loss, samples/s and ETA; the sweep's counts and progress.
        Assert.Contains("run 1 [lstm seed 1]: task 1/2 epoch 1/1 batch 3/6 loss 0.4321 5321 samples/s ETA ", text, StringComparison.Ordinal);
        Assert.Matches(@"run 2 \[lstm seed 2\]: task 2/2 epoch 2/3 batch 5/10 loss 1\.2345 987 samples/s ETA \d+:\d\d", text);
        Assert.Contains("sweep 'quick': 0 of 3 runs done (0 succeeded, 0 failed, 0 cancelled), 2 running, 1 queued, 40 %", text, StringComparison.Ordinal);

        // The last frame: each run's outcome (the failure's first line only), then the sweep's final counts.
        var frame = text.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0).TakeLast(3).ToList();
        Assert.Matches(@"^━+ 100% run 1 \[lstm seed 1\]: succeeded$", frame[0]);
        Assert.Matches(@"^[━╸╺ ]+ 60% run 2 \[lstm seed 2\]: failed: attempt 3: IOException: disk on fire at Somewhere\(\)$", frame[1]);
        Assert.Matches(@"^[━╸╺ ]+ 80% sweep 'quick': 3 of 3 runs done \(1 succeeded, 1 failed, 1 cancelled\), 0 running, 0 queued, 80 %$", frame[2]);
        Assert.DoesNotContain("batch 7/10", text, StringComparison.Ordinal); // the late report did not reopen run 2

        // Ends cleanly: the cursor hidden while live is shown again, and nothing is written after that.
        Assert.StartsWith("\u001b[?25l", rendered, StringComparison.Ordinal);
        Assert.EndsWith("\u001b[?25h", rendered.TrimEnd(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_LiveTerminal_WorkThrows_ExceptionPropagatesAfterTheDisplayEnded()
    {
        var (console, writer) = Terminal();
        var display = new ProgressDisplay("quick", id => "[gru seed 0]", console, pollEvery: TimeSpan.FromMilliseconds(20));
        int polls = 0;

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => display.RunAsync(
            async () =>
            {
                display.Report(7, new RunProgress(1, 1, 1, 1, 1, 4, 2.5, 100, 0.25));
                await UntilAsync(() => Text(writer).Contains("batch 1/4", StringComparison.Ordinal), () => Text(writer));
                throw new InvalidOperationException("the store went away");
            },
            (runs, _) =>
            {
                Interlocked.Increment(ref polls);
                return Task.FromResult(Snapshot(0, 1, 0, 0, 0.25));
            }));

        Assert.Equal("the store went away", error.Message);
        Assert.EndsWith("\u001b[?25h", writer.ToString().TrimEnd(), StringComparison.Ordinal);
        int after = Volatile.Read(ref polls);
        await Task.Delay(100);
        Assert.Equal(after, Volatile.Read(ref polls)); // polling stopped with the display
    }

    [Fact]
    public async Task RunAsync_Redirected_PlainTimestampedLinesForProgressOutcomesAndTheSweep()
    {
        var plain = new LockedStringWriter();
        var display = new ProgressDisplay("quick", id => $"[cifg seed {id}]", plain: plain, interactive: false, lineEvery: TimeSpan.FromHours(1), pollEvery: TimeSpan.FromMilliseconds(20));
        Assert.False(display.IsInteractive);
        var state = Snapshot(1, 1, 0, 0, 0.1);

        await display.RunAsync(
            async () =>
            {
                display.Report(4, new RunProgress(1, 2, 1, 1, 1, 8, 2.25, 1500, 0.0625));
                display.Report(4, new RunProgress(1, 2, 1, 1, 2, 8, 2.0, 1500, 0.125)); // within lineEvery: no line
                await UntilAsync(() => plain.ToString().Contains("0 of 2 runs done", StringComparison.Ordinal), () => plain.ToString());
                display.Report(4, new RunProgress(2, 2, 1, 1, 8, 8, 0.5, 1500, 1.0)); // finished: always a line
                state = Snapshot(0, 0, 1, 1, 1.0, (4, new FinishedRun("succeeded", null)), (5, new FinishedRun("failed", "bad data")));
            },
            (runs, _) => Task.FromResult(state));

        var lines = plain.ToString().TrimEnd().Split(Environment.NewLine);
        Assert.All(lines, l => Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ", l));
        var texts = lines.Select(l => l[21..]).ToList();
        string[] expected =
        [
            @"sweep 'quick': 0 of 2 runs done \(0 succeeded, 0 failed, 0 cancelled\), 1 running, 1 queued, 10 %",
            @"run 4 \[cifg seed 4\]: task 1/2 epoch 1/1 batch 1/8 loss 2\.2500 1500 samples/s ETA \d+:\d\d",
            @"run 4 \[cifg seed 4\]: task 2/2 epoch 1/1 batch 8/8 loss 0\.5000 1500 samples/s ETA 0:00",
            @"run 4 \[cifg seed 4\]: succeeded",
            @"run 5 \[cifg seed 5\]: failed: bad data",
            @"sweep 'quick': 2 of 2 runs done \(1 succeeded, 1 failed, 0 cancelled\), 0 running, 0 queued, 100 %",
        ];
        Assert.Equal(expected.Length, texts.Count);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Matches("^" + expected[i] + "$", texts[i]);
        }
    }

    [GeneratedRegex(@"\u001b\[[0-9;?]*[A-Za-z]")]
    private static partial Regex Ansi();
}
