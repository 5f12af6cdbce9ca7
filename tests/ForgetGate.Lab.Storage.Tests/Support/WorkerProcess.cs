using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace ForgetGate.Lab.Storage.Tests.Support;

/// <summary>
/// A real <c>forgetgate worker</c> process with its output captured line by line: by default the tests' worker program
/// (the shipped CLI composed with the synthetic executor), or the shipped CLI itself.
/// </summary>
internal sealed class WorkerProcess : IDisposable
{
    public const int SigTerm = 15;
    public const int SigStop = 19;
    public const int SigCont = 18;

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();

    private WorkerProcess(Process process) => _process = process;

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string Output => string.Join('\n', _lines);

    /// <summary>
    /// Starts a worker on the database with short leases; <paramref name="extra"/> adds flags, <paramref name="environment"/>
    /// adds variables; <paramref name="program"/> is the dll to run (default <see cref="TestDatabase.TestWorkerDll"/>).
    /// </summary>
    public static WorkerProcess Start(TestDatabase db, string extra = "", double leaseSeconds = 1.5, double heartbeatSeconds = 0.3, IDictionary<string, string>? environment = null, string? program = null)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(program ?? TestDatabase.TestWorkerDll);

        // One run per process unless a test asks for more. The suites assert per-process facts (which slot claimed
        // which attempt, how many attempts a process-crashing run costs), and the default is now --concurrency auto
        // (2 slots on 2 cores), under which a run that kills the process also takes down whatever its neighbour slot
        // was running; that neighbour's lease then expires and costs it an attempt too, and the tests turned flaky.
        string slots = extra.Contains("--concurrency", StringComparison.Ordinal) ? "" : "--concurrency 1";
        foreach (string arg in string.Create(CultureInfo.InvariantCulture,
            $"worker --db {db.Db} --checkpoints {db.CheckpointRoot} --lease-seconds {leaseSeconds} --heartbeat-seconds {heartbeatSeconds} --poll-seconds 0.1 {slots} {extra}").Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["Worker__StoreRetryMaxSeconds"] = "0.5";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info };
        var worker = new WorkerProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                worker._lines.Enqueue(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                worker._lines.Enqueue("stderr: " + e.Data);
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return worker;
    }

    /// <summary>Waits until a line containing <paramref name="text"/> appears; fails with the output on timeout.</summary>
    public async Task<string> WaitForLineAsync(string text, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            string? line = _lines.FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal));
            if (line is not null)
            {
                return line;
            }

            await Task.Delay(20);
        }

        Assert.Fail($"Worker {Id} printed no line containing '{text}' within {timeout.TotalSeconds}s. Output:\n{Output}");
        return "";
    }

    public bool HasLine(string text) => _lines.Any(l => l.Contains(text, StringComparison.Ordinal));

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"Worker {Id} did not exit within {timeout.TotalSeconds}s. Output:\n{Output}");
        }

        _process.WaitForExit(); // drains the redirected output
        return _process.ExitCode;
    }

    /// <summary>kill -9.</summary>
    public void KillHard() => _process.Kill(entireProcessTree: true);

    public void Signal(int signal)
    {
        if (Kill(_process.Id, signal) != 0)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"kill({_process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}"));
        }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _ = Kill(_process.Id, SigCont);
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
