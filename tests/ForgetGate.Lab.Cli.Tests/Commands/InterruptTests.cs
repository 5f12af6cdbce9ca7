using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;

namespace ForgetGate.Lab.Cli.Tests.Commands;

/// <summary>Ctrl-C on the real <c>forgetgate run</c> process: the exit code, how fast the prompt comes back, and what is left to resume.</summary>
/// <remarks>
/// Alone in its collection: it bounds a wall time (the second after Ctrl-C), which the end-to-end tests training
/// beside it on a 2-core machine would stretch.
/// </remarks>
[Collection(nameof(InterruptTests))]
[CollectionDefinition(nameof(InterruptTests), DisableParallelization = true)]
public sealed class InterruptTests : IDisposable
{
    private const int SigInt = 2;

    private readonly string _dir = Directory.CreateTempSubdirectory("fg-interrupt-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>
    /// The store is locked by another connection (a writer holding BEGIN EXCLUSIVE), so the worker's writes wait in
    /// SQLite's busy handler, which no token can interrupt. Ctrl-C must still end the command at once with 130, and
    /// the run must stay resumable: once the lock is gone and its lease has expired, the same command claims it
    /// again and resumes from the last checkpoint it recorded before the lock.
    /// </summary>
    [Fact]
    public async Task Run_CtrlCDuringStoreWait_Exits130WithinASecondAndTheRunResumes()
    {
        // Long enough (3,000 batches, several seconds even on a quiet machine) that the lock below lands mid-run: with
        // 2 tasks of 6,000 the whole run took 1.7 s once the CLI stopped recompiling its code (tiered compilation off),
        // and it once finished between the first checkpoint and the lock.
        string spec = Path.Combine(_dir, "interrupt.yaml");
        File.WriteAllText(spec, """
            name: interrupt
            scenario:
              kind: permuted
              tasks: 4
              train_per_task: 24000
              test_per_task: 100
            model:
              variant: lstm
              hidden: 16
            training:
              batch_size: 32
              checkpoint_every_batches: 25
            """);
        string db = Path.Combine(_dir, "fg.db");
        // A short lease so the abandoned run becomes claimable again within the test.
        var environment = new Dictionary<string, string> { ["Worker__LeaseSeconds"] = "2", ["Worker__HeartbeatSeconds"] = "0.5" };

        using var first = StartRun(spec, db, environment, out var lines);
        await WaitUntilAsync(() => Scalar(db, "SELECT count(*) FROM checkpoints") > 0, first, lines, "a checkpoint recorded");

        long checkpointsBeforeLock;
        using (var locker = new SqliteConnection($"Data Source={db};Pooling=False"))
        {
            locker.Open();
            using (var begin = locker.CreateCommand())
            {
                begin.CommandText = "BEGIN EXCLUSIVE";
                begin.ExecuteNonQuery();
            }

            using (var count = locker.CreateCommand())
            {
                count.CommandText = "SELECT count(*) FROM checkpoints";
                checkpointsBeforeLock = (long)count.ExecuteScalar()!;
            }

            // Let the worker reach a write and block on the lock (it writes progress or a checkpoint every few batches).
            await Task.Delay(1500);
            Assert.False(first.HasExited, "the run ended before it could be interrupted:\n" + string.Join('\n', lines));

            var clock = Stopwatch.StartNew();
            Assert.Equal(0, Kill(first.Id, SigInt));
            bool exited = first.WaitForExit(10_000);
            clock.Stop();
            Assert.True(exited, "forgetgate run did not exit within 10 s of Ctrl-C:\n" + string.Join('\n', lines));
            first.WaitForExit(); // drain the output events
            string output = string.Join('\n', lines);
            Assert.True(first.ExitCode == 130, $"exit {first.ExitCode}:\n{output}");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"Ctrl-C took {clock.Elapsed.TotalSeconds:F2} s to end the command:\n{output}");
            Assert.Contains("forgetgate run: interrupted", output, StringComparison.Ordinal);

            using var rollback = locker.CreateCommand();
            rollback.CommandText = "ROLLBACK";
            rollback.ExecuteNonQuery();
        }

        // The same command again: it waits out the dead attempt's lease, resumes from a checkpoint and finishes.
        using var second = StartRun(spec, db, environment, out var secondLines);
        Assert.True(second.WaitForExit(180_000), "the resumed run did not finish in 180 s");
        second.WaitForExit();
        string secondOutput = string.Join('\n', secondLines);
        Assert.True(second.ExitCode == 0, $"exit {second.ExitCode}:\n{secondOutput}");
        Assert.Contains("attempt 2/3 (slot 0, resume from ", secondOutput, StringComparison.Ordinal);
        Assert.Equal(1, Scalar(db, "SELECT count(*) FROM runs WHERE status = 'succeeded'"));
        Assert.True(checkpointsBeforeLock > 0);
    }

    private static Process StartRun(string spec, string db, Dictionary<string, string> environment, out ConcurrentQueue<string> lines)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetDirectoryName(db)! };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "forgetgate.dll"));
        foreach (string a in new[] { "run", spec, "--db", db, "--threads", "1" })
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment.Remove("FORGETGATE_DB");
        foreach (var (key, value) in environment)
        {
            psi.Environment[key] = value;
        }

        var captured = new ConcurrentQueue<string>();
        var process = new Process { StartInfo = psi };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { captured.Enqueue(e.Data); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { captured.Enqueue(e.Data); } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        lines = captured;
        return process;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, Process process, ConcurrentQueue<string> lines, string what)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(120))
        {
            if (process.HasExited)
            {
                Assert.Fail($"forgetgate run exited ({process.ExitCode}) before {what}:\n{string.Join('\n', lines)}");
            }

            if (File.Exists(process.StartInfo.ArgumentList[4]) && condition())
            {
                return;
            }

            await Task.Delay(100);
        }

        process.Kill(entireProcessTree: true);
        Assert.Fail($"no {what} within 120 s:\n{string.Join('\n', lines)}");
    }

    private static long Scalar(string db, string sql)
    {
        try
        {
            using var connection = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            return (long)command.ExecuteScalar()!;
        }
        catch (SqliteException)
        {
            return 0; // not migrated yet, or busy for a moment
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
