using System.Diagnostics;
using System.Text.Json;
using ForgetGate.Lab.Storage.Tests.Support;

namespace ForgetGate.Lab.Storage.Tests;

/// <summary>The queue, status and worker commands as a researcher types them.</summary>
[Collection(WorkerProcessGroup.Name)]
public sealed class CliCommandTests : IDisposable
{
    private readonly TestDatabase _db = new(migrate: false);

    public void Dispose() => _db.Dispose();

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunCliAsync(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(TestDatabase.CliDll);
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task Queue_RunListTwiceThenWorker_DryRunListsPointsDuplicatesSkippedStatusCounts()
    {
        string spec = Path.Combine(_db.Directory, "smoke.json");
        var runs = Enumerable.Range(0, 3).Select(i => TestDatabase.Synthetic(i)).ToList();
        File.WriteAllText(spec, JsonSerializer.Serialize(new Dictionary<string, object> { ["name"] = "smoke", ["runs"] = runs }));

        var dry = await RunCliAsync("queue", spec, "--db", _db.Path, "--dry-run");
        Assert.Equal(0, dry.ExitCode);
        Assert.Contains("sweep smoke: 3 point(s)", dry.Stdout, StringComparison.Ordinal);
        Assert.False(File.Exists(_db.Path)); // a dry run writes nothing

        Assert.Contains("queued 3 run(s), 0 already queued", (await RunCliAsync("queue", spec, "--db", _db.Path)).Stdout, StringComparison.Ordinal);
        Assert.Contains("queued 0 run(s), 3 already queued", (await RunCliAsync("queue", spec, "--db", _db.Path)).Stdout, StringComparison.Ordinal);
        var before = await RunCliAsync("status", "--db", _db.Path);
        Assert.Matches(@"1 smoke\s+3\s+0\s+0\s+0\s+0\s+0 %", before.Stdout);

        var worker = WorkerProcess.Start(_db, "--until-empty");
        Assert.Equal(0, await worker.WaitForExitAsync(TimeSpan.FromSeconds(45)));
        worker.Dispose();
        var after = await RunCliAsync("status", "--db", _db.Path);
        Assert.Matches(@"1 smoke\s+0\s+0\s+3\s+0\s+0\s+100 %", after.Stdout);
    }

    [Fact]
    public async Task Worker_HeartbeatNotUnderHalfTheLease_RefusesToStartNamingTheFlag()
    {
        var result = await RunCliAsync("worker", "--db", _db.Path, "--lease-seconds", "2", "--heartbeat-seconds", "1.5", "--concurrency", "0");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--heartbeat-seconds 1.5: expected > 0 and at most half of --lease-seconds (2)", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("--concurrency 0: expected 1..256.", result.Stderr, StringComparison.Ordinal);
    }
}
