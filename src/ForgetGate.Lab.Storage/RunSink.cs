using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Dapper;
using ForgetGate.Lab.Core.Runs;

namespace ForgetGate.Lab.Storage;

/// <summary>
/// Fenced writes for one claimed run. Each call is one write transaction that first touches the run's row
/// under (id, lease_token, status = 'running'); zero rows means the lease is gone, so the transaction is rolled
/// back and <see cref="LeaseLostException"/> thrown: a zombie attempt cannot write a single row.
/// </summary>
internal sealed class RunSink : IRunSink
{
    private readonly RunStore _store;
    private readonly long _runId;
    private readonly string _leaseToken;
    private readonly int _attempt;

    public RunSink(RunStore store, long runId, string leaseToken, int attempt)
    {
        _store = store;
        _runId = runId;
        _leaseToken = leaseToken;
        _attempt = attempt;
    }

    public Task WriteEvaluationsAsync(IReadOnlyList<EvaluationRow> rows, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rows);
        string sql = """
            INSERT INTO evaluations (run_id, after_task, epoch, eval_task, metric, value)
            VALUES (@RunId, @AfterTask, @Epoch, @EvalTask, @Metric, @Value)
            ON CONFLICT (run_id, after_task, epoch, eval_task, metric) DO UPDATE
            SET value = excluded.value
            """;
        return FencedAsync(sql, rows.Select(r => new { RunId = _runId, r.AfterTask, r.Epoch, r.EvalTask, r.Metric, r.Value }), cancellationToken);
    }

    public Task WriteTrainingCurveAsync(IReadOnlyList<TrainingCurveRow> rows, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rows);
        string sql = """
            INSERT INTO training_curves (run_id, task, epoch, step, loss, samples_per_s)
            VALUES (@RunId, @Task, @Epoch, @Step, @Loss, @SamplesPerSecond)
            ON CONFLICT (run_id, task, epoch, step) DO UPDATE
            SET loss = excluded.loss,
                samples_per_s = excluded.samples_per_s
            """;
        return FencedAsync(sql, rows.Select(r => new { RunId = _runId, r.Task, r.Epoch, r.Step, r.Loss, r.SamplesPerSecond }), cancellationToken);
    }

    public Task WriteGateTelemetryAsync(IReadOnlyList<GateTelemetryRow> rows, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rows);
        string sql = """
            INSERT INTO gate_telemetry (run_id, after_task, layer, eval_task, mean, frac_gt_0_9, frac_lt_0_1, histogram)
            VALUES (@RunId, @AfterTask, @Layer, @EvalTask, @Mean, @FracGt09, @FracLt01, @Histogram)
            ON CONFLICT (run_id, after_task, layer, eval_task) DO UPDATE
            SET mean = excluded.mean,
                frac_gt_0_9 = excluded.frac_gt_0_9,
                frac_lt_0_1 = excluded.frac_lt_0_1,
                histogram = excluded.histogram
            """;
        return FencedAsync(sql, rows.Select(r => new
        {
            RunId = _runId,
            r.AfterTask,
            r.Layer,
            r.EvalTask,
            r.Mean,
            r.FracGt09,
            r.FracLt01,
            Histogram = JsonSerializer.Serialize(r.Histogram.Select(v => Math.Round(v, 6)).ToArray(), StorageJsonContext.Default.DoubleArray),
        }), cancellationToken);
    }

    public Task WriteGateStepsAsync(IReadOnlyList<GateStepRow> rows, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rows);
        string sql = """
            INSERT INTO gate_steps (run_id, after_task, epoch, layer, eval_task, probe_count, steps, units, step_means, sample_index,
                                    sample_gates, value_count, value_min, value_max, value_sum, value_sum_squares, histogram)
            VALUES (@RunId, @AfterTask, @Epoch, @Layer, @EvalTask, @ProbeCount, @Steps, @Units, @StepMeans, @SampleIndex,
                    @SampleGates, @ValueCount, @ValueMin, @ValueMax, @ValueSum, @ValueSumSquares, @Histogram)
            ON CONFLICT (run_id, after_task, epoch, layer, eval_task) DO UPDATE
            SET probe_count = excluded.probe_count,
                steps = excluded.steps,
                units = excluded.units,
                step_means = excluded.step_means,
                sample_index = excluded.sample_index,
                sample_gates = excluded.sample_gates,
                value_count = excluded.value_count,
                value_min = excluded.value_min,
                value_max = excluded.value_max,
                value_sum = excluded.value_sum,
                value_sum_squares = excluded.value_sum_squares,
                histogram = excluded.histogram
            """;
        return FencedAsync(sql, rows.Select(r => new
        {
            RunId = _runId,
            r.AfterTask,
            r.Epoch,
            r.Layer,
            r.EvalTask,
            r.ProbeCount,
            r.Steps,
            r.Units,
            StepMeans = JsonSerializer.Serialize(r.StepMeans.ToArray(), StorageJsonContext.Default.DoubleArray),
            r.SampleIndex,
            SampleGates = GateStepCodec.EncodeHalves(r.SampleGates),
            ValueCount = r.Spread.Count,
            ValueMin = r.Spread.Min,
            ValueMax = r.Spread.Max,
            ValueSum = r.Spread.Sum,
            ValueSumSquares = r.Spread.SumSquares,
            Histogram = JsonSerializer.Serialize(r.Spread.Counts.ToArray(), StorageJsonContext.Default.Int64Array),
        }), cancellationToken);
    }

    public Task RecordCheckpointAsync(CheckpointRecord checkpoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        string sql = $"""
            INSERT INTO checkpoints (run_id, task, epoch, batch, path, sha256, attempt, created_at)
            VALUES (@RunId, @Task, @Epoch, @Batch, @Path, @Sha256, @Attempt, {_store.Dialect.Now})
            ON CONFLICT (run_id, task, epoch, batch) DO UPDATE
            SET path = excluded.path,
                sha256 = excluded.sha256,
                attempt = excluded.attempt,
                created_at = excluded.created_at
            """;
        var args = new { RunId = _runId, checkpoint.Task, checkpoint.Epoch, checkpoint.Batch, checkpoint.Path, checkpoint.Sha256, Attempt = _attempt };
        return FencedAsync(sql, [args], cancellationToken);
    }

    public Task RecordDatasetFingerprintAsync(string fingerprint, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(fingerprint);
        string sql = """
            UPDATE runs
            SET dataset_fingerprint = @Fingerprint
            WHERE id = @RunId
              AND lease_token = @LeaseToken
              AND status = 'running'
            """;
        return UpdateRunFencedAsync(sql, new { RunId = _runId, LeaseToken = _leaseToken, Fingerprint = fingerprint }, cancellationToken);
    }

    public Task ReportProgressAsync(double progress, string? note, CancellationToken cancellationToken)
    {
        if (!(progress is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(progress), progress.ToString(CultureInfo.InvariantCulture), "Progress must be in [0, 1].");
        }

        // One statement: the fence and the write are the same UPDATE.
        string sql = $"""
            UPDATE runs
            SET progress = @Progress,
                progress_note = @Note,
                heartbeat_at = {_store.Dialect.Now}
            WHERE id = @RunId
              AND lease_token = @LeaseToken
              AND status = 'running'
            """;
        return UpdateRunFencedAsync(sql, new { RunId = _runId, LeaseToken = _leaseToken, Progress = progress, Note = note }, cancellationToken);
    }

    /// <summary>An UPDATE of the run's own row whose WHERE clause is the fence.</summary>
    private Task<int> UpdateRunFencedAsync(string sql, object args, CancellationToken cancellationToken) =>
        _store.WithConnectionAsync(async connection =>
        {
            int touched = await connection.ExecuteAsync(new CommandDefinition(sql, args, cancellationToken: cancellationToken)).ConfigureAwait(false);
            return touched == 1 ? 0 : throw LeaseLostException.ForRun(_runId);
        }, cancellationToken);

    public Task CompleteAsync(IReadOnlyList<RunSummaryRow> summary, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(summary);
        string upsert = """
            INSERT INTO run_summaries (run_id, metric, convention, value)
            VALUES (@RunId, @Metric, @Convention, @Value)
            ON CONFLICT (run_id, metric, convention) DO UPDATE
            SET value = excluded.value
            """;
        string finish = $"""
            UPDATE runs
            SET status = 'succeeded',
                progress = 1,
                finished_at = {_store.Dialect.Now},
                error = NULL,
                lease_token = NULL,
                lease_expires_at = NULL
            WHERE id = @RunId
              AND lease_token = @LeaseToken
              AND status = 'running'
            """;
        if (summary.Count == 0)
        {
            // Nothing to upsert: the finishing UPDATE is its own fence, one statement.
            return UpdateRunFencedAsync(finish, new { RunId = _runId, LeaseToken = _leaseToken }, cancellationToken);
        }

        return _store.InWriteAsync(async (connection, transaction) =>
        {
            await FenceAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
            await connection.ExecuteAsync(new CommandDefinition(upsert, summary.Select(r => new { RunId = _runId, r.Metric, r.Convention, r.Value }), transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            await connection.ExecuteAsync(new CommandDefinition(finish, new { RunId = _runId, LeaseToken = _leaseToken }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            return 0;
        }, cancellationToken);
    }

    private Task<int> FencedAsync(string sql, IEnumerable<object> rows, CancellationToken cancellationToken) =>
        _store.InWriteAsync(async (connection, transaction) =>
        {
            await FenceAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
            await connection.ExecuteAsync(new CommandDefinition(sql, rows, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            return 0;
        }, cancellationToken);

    /// <summary>Touches the run's row under its lease inside the transaction; throws (and so rolls back) when the lease is gone.</summary>
    private async Task FenceAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        string sql = $"""
            UPDATE runs
            SET heartbeat_at = {_store.Dialect.Now}
            WHERE id = @RunId
              AND lease_token = @LeaseToken
              AND status = 'running'
            """;
        int touched = await connection.ExecuteAsync(new CommandDefinition(sql, new { RunId = _runId, LeaseToken = _leaseToken }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        if (touched != 1)
        {
            throw LeaseLostException.ForRun(_runId);
        }
    }
}
