using System.Data.Common;
using System.Globalization;
using ForgetGate.Lab.Storage.Tests.Support;

namespace ForgetGate.Lab.Storage.Tests;

/// <summary>
/// The runs of <see cref="GpuWorkerTests"/> trained one at a time by a plain worker (<c>model.engine: gpu</c> on ILGPU's
/// CPU accelerator): the reference every batched run must equal bit for bit. Computed once for the class.
/// </summary>
public sealed class GpuAloneReference : IDisposable
{
    private readonly TestDatabase _db = new(StoreKind.Sqlite);
    private readonly Lazy<Dictionary<string, List<string>>> _rows;

    public GpuAloneReference() => _rows = new(() =>
    {
        Assert.True(GpuWorkerTests.QueueAsync(_db, GpuWorkerTests.Spec).GetAwaiter().GetResult() == 4);
        using var worker = WorkerProcess.Start(_db, "--until-empty", leaseSeconds: 30, heartbeatSeconds: 0.3);
        Assert.True(worker.WaitForExitAsync(TimeSpan.FromSeconds(240)).GetAwaiter().GetResult() == 0, worker.Output);
        Assert.DoesNotContain("GPU batch", worker.Output, StringComparison.Ordinal);
        return GpuWorkerTests.Results(_db);
    });

    /// <summary>Per config hash, every stored metric row of the run (see <see cref="GpuWorkerTests.Results"/>).</summary>
    internal Dictionary<string, List<string>> Rows => _rows.Value;

    public void Dispose() => _db.Dispose();
}

/// <summary>
/// <c>worker --gpu</c> on a real SQLite store (issue 19): runs of one shape are claimed and trained together, each
/// keeping its own lease, heartbeat, checkpoints and rows; a run's rows are bit-identical whether it trained alone or in
/// the batch; one batched run cancelled mid-run leaves the others finishing with full rows; a batch stopped mid-run and
/// resumed by another worker ends with the rows of the uninterrupted runs. Tiny shapes on the CPU accelerator.
/// </summary>
[Collection(WorkerProcessGroup.Name)]
public sealed class GpuWorkerTests(GpuAloneReference reference) : IClassFixture<GpuAloneReference>, IDisposable
{
    /// <summary>Four runs of one shape (2 seeds × 2 learning rates): a drift series, 3 tasks of 6 batches, checkpoints every 2 batches.</summary>
    internal const string Spec = """
        name: gpu-batch
        scenario:
          kind: drift
          drift: abrupt
          family: sinusoid
          tasks: 3
          train_per_task: 48
          test_per_task: 16
          window: 5
        model:
          variant: lstm
          hidden: 6
          engine: gpu
        training:
          epochs_per_task: 1
          batch_size: 8
          checkpoint_every_batches: 2
          optimizer:
            lr: [0.01, 0.02]
        sweep:
          seed: [1, 2]
        """;

    private readonly TestDatabase _db = new(StoreKind.Sqlite);

    public void Dispose() => _db.Dispose();

    [Fact]
    public async Task WorkerGpu_FourMatchingRuns_TrainTogetherAndEachEqualsItselfAlone_BitForBit()
    {
        // The four gpu runs are queued as runs 1, 2, 4, 5; run 3 between them is a managed run (no batch key): the
        // batch skips it, and it is then claimed and trained alone, with its own engine.
        string Seed(string seed) => Spec.Replace("seed: [1, 2]", $"seed: [{seed}]", StringComparison.Ordinal);
        Assert.Equal(2, await QueueAsync(_db, Seed("1")));
        Assert.Equal(1, await QueueAsync(_db, Seed("1").Replace("engine: gpu", "engine: managed", StringComparison.Ordinal).Replace("lr: [0.01, 0.02]", "lr: 0.01", StringComparison.Ordinal)));
        Assert.Equal(2, await QueueAsync(_db, Seed("2")));
        using var worker = WorkerProcess.Start(_db, "--gpu --gpu-batch 4 --until-empty", leaseSeconds: 30, heartbeatSeconds: 0.3);
        Assert.True(await worker.WaitForExitAsync(TimeSpan.FromSeconds(240)) == 0, worker.Output);

        Assert.Contains("GPU batch of 4 runs claimed: 1, 2, 4, 5 (slot 0)", worker.Output, StringComparison.Ordinal);
        Assert.Contains("(4.00 runs per launch)", worker.Output, StringComparison.Ordinal); // every launch served all four
        Assert.Contains("Claimed run 3 attempt 1/3", worker.Output, StringComparison.Ordinal);
        Assert.Equal(5, _db.Scalar<long>("SELECT COUNT(*) FROM runs WHERE status = 'succeeded'"));
        var rows = Results(_db);
        Assert.True(rows.Remove(_db.Scalar<string>("SELECT config_hash FROM runs WHERE id = 3")));
        AssertEqualsAlone(rows, expectedRuns: 4);
    }

    [Fact]
    public async Task WorkerGpu_OneBatchedRunCancelledMidRun_OthersFinishWithFullRowsEqualToAlone()
    {
        Assert.Equal(4, await QueueAsync(_db, Spec));
        using var worker = WorkerProcess.Start(_db, "--gpu --gpu-batch 4 --until-empty", leaseSeconds: 30, heartbeatSeconds: 0.1);
        await worker.WaitForLineAsync("GPU batch of 4 runs claimed", TimeSpan.FromSeconds(120));

        // Mid-run: run 2 has stored a checkpoint (so it has trained batches in the batch) before it is cancelled.
        await Wait.UntilAsync(() => _db.Scalar<long>("SELECT COUNT(*) FROM checkpoints WHERE run_id = 2") > 0, TimeSpan.FromSeconds(120), () => worker.Output);
        Assert.True(await _db.Store.RequestCancelAsync(2, CancellationToken.None));
        Assert.True(await worker.WaitForExitAsync(TimeSpan.FromSeconds(240)) == 0, worker.Output);

        Assert.Contains("Run 2 cancelled on request", worker.Output, StringComparison.Ordinal);
        Assert.Equal(RunStatus.Cancelled, (await _db.Store.GetRunAsync(2, CancellationToken.None))!.Status);
        foreach (long id in new long[] { 1, 3, 4 })
        {
            Assert.Equal(RunStatus.Succeeded, (await _db.Store.GetRunAsync(id, CancellationToken.None))!.Status);
        }

        var rows = Results(_db);
        long cancelledTasks = _db.Scalar<long>("SELECT COUNT(DISTINCT after_task) FROM evaluations WHERE run_id = 2");
        Assert.True(cancelledTasks < 4, $"run 2 stored evaluations after {cancelledTasks} tasks (0..3): it finished before the cancel landed. Output:\n{worker.Output}");
        string cancelledHash = _db.Scalar<string>("SELECT config_hash FROM runs WHERE id = 2");
        rows.Remove(cancelledHash);
        AssertEqualsAlone(rows, expectedRuns: 3);
    }

    [Fact]
    public async Task WorkerGpu_BatchStoppedMidRunAndResumedByAnotherWorker_EqualsUninterrupted()
    {
        Assert.Equal(4, await QueueAsync(_db, Spec));
        using (var first = WorkerProcess.Start(_db, "--gpu --gpu-batch 4", leaseSeconds: 30, heartbeatSeconds: 0.3))
        {
            await first.WaitForLineAsync("GPU batch of 4 runs claimed", TimeSpan.FromSeconds(120));
            await Wait.UntilAsync(() => _db.Scalar<long>("SELECT COUNT(DISTINCT run_id) FROM checkpoints") == 4, TimeSpan.FromSeconds(120), () => first.Output);
            first.Signal(WorkerProcess.SigTerm); // graceful: every run checkpoints where it is and is released
            Assert.Equal(0, await first.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains("released back to the queue on shutdown (released: True)", first.Output, StringComparison.Ordinal);
        }

        Assert.True(_db.Scalar<long>("SELECT COUNT(*) FROM runs WHERE status = 'queued'") >= 1, "no run was stopped mid-run");
        using var second = WorkerProcess.Start(_db, "--gpu --gpu-batch 4 --until-empty", leaseSeconds: 30, heartbeatSeconds: 0.3);
        Assert.True(await second.WaitForExitAsync(TimeSpan.FromSeconds(240)) == 0, second.Output);
        Assert.Matches(@"Claimed run \d attempt 1/3 \(slot 0, resume from [^s]", second.Output); // resumed from a checkpoint, attempt not spent
        AssertEqualsAlone(Results(_db), expectedRuns: 4);
    }

    private void AssertEqualsAlone(Dictionary<string, List<string>> rows, int expectedRuns)
    {
        Assert.Equal(expectedRuns, rows.Count);
        foreach (var (hash, mine) in rows)
        {
            Assert.True(reference.Rows.TryGetValue(hash, out var alone), $"config {hash} has no run alone");
            // A whole run of Spec stores 70 such rows (counted when this test was written): the reference runs are complete.
            Assert.True(alone.Count >= 70, $"config {hash}: the run alone has only {alone.Count} rows");
            Assert.Equal(alone, mine);
        }
    }

    /// <summary>Queues a spec through the CLI; returns the runs newly queued.</summary>
    internal static async Task<int> QueueAsync(TestDatabase db, string spec, string sweepName = "gpu-batch")
    {
        string path = Path.Combine(db.Directory, $"{sweepName}-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(path, spec.Replace("name: gpu-batch", $"name: {sweepName}", StringComparison.Ordinal));
        var result = await CliCommandTests.RunCliAsync("queue", path, "--db", db.Db, "--no-reuse");
        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        var match = System.Text.RegularExpressions.Regex.Match(result.Stdout, @"queued (\d+) run\(s\)");
        Assert.True(match.Success, result.Stdout);
        return int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Every stored row a run's numbers show, per config hash, values printed round-trip: evaluations, training-curve
    /// losses, gate telemetry and gate steps, and summaries but for wall time and throughput (which are timings).
    /// </summary>
    internal static Dictionary<string, List<string>> Results(TestDatabase db)
    {
        var result = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        string[] queries =
        [
            "SELECT r.config_hash, 'eval', e.after_task, e.epoch, e.eval_task, e.metric, e.value FROM evaluations e JOIN runs r ON r.id = e.run_id ORDER BY 3, 4, 5, 6",
            "SELECT r.config_hash, 'curve', c.task, c.epoch, c.step, c.loss FROM training_curves c JOIN runs r ON r.id = c.run_id ORDER BY 3, 4, 5",
            "SELECT r.config_hash, 'gates', g.after_task, g.layer, g.eval_task, g.mean, g.frac_gt_0_9, g.frac_lt_0_1, g.histogram FROM gate_telemetry g JOIN runs r ON r.id = g.run_id ORDER BY 3, 4, 5",
            "SELECT r.config_hash, 'steps', g.after_task, g.epoch, g.layer, g.eval_task, g.step_means, g.sample_gates, g.value_sum, g.value_sum_squares FROM gate_steps g JOIN runs r ON r.id = g.run_id ORDER BY 3, 4, 5, 6",
            "SELECT r.config_hash, 'summary', s.metric, s.convention, s.value FROM run_summaries s JOIN runs r ON r.id = s.run_id WHERE s.metric NOT LIKE 'time%' AND s.metric NOT IN ('wall_seconds', 'train_samples_per_s') ORDER BY 3, 4",
        ];
        using var connection = db.Open();
        foreach (string sql in queries)
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            using DbDataReader reader = command.ExecuteReader();
            while (reader.Read())
            {
                var fields = new List<string>();
                for (int i = 1; i < reader.FieldCount; i++)
                {
                    fields.Add(reader.GetValue(i) switch
                    {
                        double d => d.ToString("R", CultureInfo.InvariantCulture),
                        byte[] b => Convert.ToHexString(b),
                        var v => Convert.ToString(v, CultureInfo.InvariantCulture) ?? "",
                    });
                }

                string hash = reader.GetString(0);
                if (!result.TryGetValue(hash, out var list))
                {
                    result[hash] = list = [];
                }

                list.Add(string.Join('|', fields));
            }
        }

        return result;
    }
}
