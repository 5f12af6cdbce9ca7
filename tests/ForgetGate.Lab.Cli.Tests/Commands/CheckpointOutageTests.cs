using System.Globalization;
using ForgetGate.Lab.Cli.Tests.Support;
using ForgetGate.Lab.Storage.Tests.Support;
using Microsoft.Data.Sqlite;

namespace ForgetGate.Lab.Cli.Tests.Commands;

/// <summary>
/// Checkpoint storage that is full or read-only is an outage, not the run's fault (issue 12, defect 6), through the real
/// <c>forgetgate run</c> on a real training spec: the run is released without spending an attempt, the log names the
/// path and the fault, <c>run</c> gives up after <c>--outage-wait</c> with exit 3 and one line, and once the storage
/// works again the same command resumes the run to rows identical to an uninterrupted run's.
/// </summary>
/// <remarks>
/// The faults are real kernel answers, not injected exceptions: the checkpoint folder is a symlink to a small tmpfs that
/// is filled to the last page (ENOSPC) or remounted read-only (EROFS). chmod would not do: these tests run as root, for
/// whom permissions do not stop a write. Mounting needs CAP_SYS_ADMIN, as the store-fault tests already do.
/// </remarks>
public sealed class CheckpointOutageTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fg-ckpt-outage-").FullName;
    private readonly string _baselineDir = Directory.CreateTempSubdirectory("fg-ckpt-baseline-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
        Directory.Delete(_baselineDir, recursive: true);
    }

    private const string TinySpec = """
        name: ckpt-outage
        max_attempts: 3
        scenario:
          kind: drift
          tasks: 2
          train_per_task: 64
          test_per_task: 32
          window: 8
        model:
          variant: gru
          hidden: 8
        training:
          batch_size: 32
        """;

    [Theory]
    [InlineData("full", "is full (No space left on device")]
    [InlineData("read-only", "is read-only (Read-only file system")]
    public void Run_CheckpointStorageFullOrReadOnly_GivesUpWithExit3SpendingNoAttemptThenResumes(string fault, string why)
    {
        using var mount = Tmpfs.TryMount(8) ?? throw new InvalidOperationException("This test needs to mount a tmpfs (run as root with CAP_SYS_ADMIN).");
        Directory.CreateDirectory(Path.Combine(_dir, "results"));
        string checkpoints = Path.Combine(_dir, "results", "checkpoints");
        File.CreateSymbolicLink(checkpoints, mount.Path);
        string spec = Path.Combine(_dir, "outage.yaml");
        File.WriteAllText(spec, TinySpec);
        string? filler = null;
        if (fault == "full")
        {
            filler = mount.Fill();
        }
        else
        {
            mount.Remount("ro");
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var gaveUp = CliProcess.Run(_dir, null, "run", spec, "--threads", "1", "--concurrency", "1", "--outage-wait", "3");
        double seconds = clock.Elapsed.TotalSeconds;

        // Exit 3 and one sentence naming the path, the fault, the bound and that nothing was spent.
        Assert.True(gaveUp.Code == 3, gaveUp.ToString());
        string line = Assert.Single(gaveUp.ErrLines);
        string runDir = Path.Combine(checkpoints, "run-000001");
        Assert.StartsWith($"forgetgate run: checkpoint storage '{runDir}' {why}", line, StringComparison.Ordinal);
        Assert.EndsWith("gave up after waiting 3 s (--outage-wait). No attempt was spent: the runs are queued and resume from their last checkpoint when the command is run again.", line, StringComparison.Ordinal);
        Assert.True(seconds < 60, $"gave up after {seconds:F1} s, bound 3 s");
        // The worker's log says what happened to the run and that it is waiting, with the path.
        Assert.Contains($"Run 1: checkpoint storage '{runDir}' {why}", gaveUp.Out, StringComparison.Ordinal);
        Assert.Contains("the run is released without spending an attempt (released: True)", gaveUp.Out, StringComparison.Ordinal);
        Assert.Contains($"Checkpoint storage unavailable: '{runDir}' {why}", gaveUp.Out, StringComparison.Ordinal);
        // Stored: queued, no attempt counted, one claim only (no claiming during the outage), no error.
        Assert.Equal(("queued", 0L, 1L), (Scalar<string>(_dir, "SELECT status FROM runs WHERE id = 1"), Scalar<long>(_dir, "SELECT attempt FROM runs WHERE id = 1"), Scalar<long>(_dir, "SELECT COUNT(*) FROM run_attempts")));
        Assert.Equal(0L, Scalar<long>(_dir, "SELECT COUNT(*) FROM runs WHERE error IS NOT NULL"));

        // The fault goes away; the same command resumes and finishes, with every row once and equal to a clean run's.
        if (filler is not null)
        {
            File.Delete(filler);
        }
        else
        {
            mount.Remount("rw");
        }

        var resumed = CliProcess.Run(_dir, null, "run", spec, "--threads", "1", "--concurrency", "1", "--outage-wait", "3");
        Assert.True(resumed.Code == 0, resumed.ToString());
        Assert.Equal(("succeeded", 1L), (Scalar<string>(_dir, "SELECT status FROM runs WHERE id = 1"), Scalar<long>(_dir, "SELECT attempt FROM runs WHERE id = 1")));
        Assert.True(Directory.EnumerateFiles(runDir, "*.safetensors").Any(), "checkpoints are written once the storage works");

        File.WriteAllText(Path.Combine(_baselineDir, "outage.yaml"), TinySpec);
        var clean = CliProcess.Run(_baselineDir, null, "run", Path.Combine(_baselineDir, "outage.yaml"), "--threads", "1", "--concurrency", "1");
        Assert.True(clean.Code == 0, clean.ToString());
        var rows = Rows(_dir);
        Assert.Equal(Rows(_baselineDir), rows);
        Assert.Equal(rows.Count, rows.Distinct().Count());
        Assert.Equal(3 * 2, rows.Select(r => r.Split('/')[0] + "/" + r.Split('/')[2]).Distinct().Count()); // R: 3 rows × 2 tasks
    }

    private static string DbOf(string dir) => Path.Combine(dir, "results", "forgetgate.db");

    private static T Scalar<T>(string dir, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={DbOf(dir)};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (T)Convert.ChangeType(command.ExecuteScalar()!, typeof(T), CultureInfo.InvariantCulture);
    }

    /// <summary>Every evaluation row as "after_task/epoch/eval_task/metric=value (round-trip)", in key order.</summary>
    private static List<string> Rows(string dir)
    {
        using var connection = new SqliteConnection($"Data Source={DbOf(dir)};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT after_task, epoch, eval_task, metric, value FROM evaluations WHERE run_id = 1 ORDER BY after_task, epoch, eval_task, metric";
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            rows.Add(string.Create(CultureInfo.InvariantCulture, $"{reader.GetInt64(0)}/{reader.GetInt64(1)}/{reader.GetInt64(2)}/{reader.GetString(3)}={reader.GetDouble(4):R}"));
        }

        return rows;
    }
}
