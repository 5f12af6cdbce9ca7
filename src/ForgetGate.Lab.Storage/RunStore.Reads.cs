using System.Globalization;
using System.Text.Json;
using Dapper;
using ForgetGate.Lab.Core.Runs;

namespace ForgetGate.Lab.Storage;

/// <summary>Read side of the store: what reports, exports and <c>reproduce</c> need. Reads take no locks beyond SQLite's snapshot.</summary>
internal sealed partial class RunStore
{
    public async Task<SweepInfo?> FindSweepAsync(string idOrName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(idOrName);
        if (string.IsNullOrWhiteSpace(idOrName))
        {
            return null; // no sweep has a blank name (specs require a safe one): the caller says "no sweep '   '"
        }

        string sql = """
            SELECT id, name, spec_text AS SpecText, spec_hash AS SpecHash, created_at AS CreatedAt
            FROM sweeps
            WHERE id = @Id OR name = @Name
            ORDER BY (id = @Id) DESC, id DESC
            LIMIT 1
            """;
        long id = long.TryParse(idOrName, NumberStyles.None, CultureInfo.InvariantCulture, out long parsed) ? parsed : -1;
        // Awaited, not ContinueWith(t => t.Result): a store error must reach the caller as itself, not in an AggregateException.
        var row = await WithConnectionAsync(connection =>
            connection.QuerySingleOrDefaultAsync<SweepRow?>(new CommandDefinition(sql, new { Id = id, Name = idOrName }, cancellationToken: cancellationToken)), cancellationToken).ConfigureAwait(false);
        return row?.ToInfo();
    }

    public Task<IReadOnlyList<RunAttempt>> GetAttemptsAsync(long runId, CancellationToken cancellationToken)
    {
        string sql = """
            SELECT attempt, lease_owner AS LeaseOwner, claimed_at AS ClaimedAt
            FROM run_attempts
            WHERE run_id = @RunId
            ORDER BY claimed_at, attempt
            """;
        return WithConnectionAsync(async connection => (IReadOnlyList<RunAttempt>)[.. (await connection.QueryAsync<AttemptRow>(
            new CommandDefinition(sql, new { RunId = runId }, cancellationToken: cancellationToken)).ConfigureAwait(false)).Select(a => new RunAttempt((int)a.Attempt, a.LeaseOwner, a.ClaimedAt))], cancellationToken);
    }

    public Task<string> GetSweepVersionAsync(long sweepId, CancellationToken cancellationToken)
    {
        // Row counts only grow (upserts), statuses and progress move: together they change whenever the report does.
        string sql = """
            SELECT (SELECT COUNT(*) FROM runs WHERE sweep_id = @SweepId)
                || ':' || (SELECT COALESCE(SUM(progress), 0) FROM runs WHERE sweep_id = @SweepId)
                || ':' || (SELECT COALESCE(SUM(attempt), 0) FROM runs WHERE sweep_id = @SweepId)
                || ':' || (SELECT COUNT(*) FROM runs WHERE sweep_id = @SweepId AND status = 'running')
                || ':' || (SELECT COUNT(*) FROM runs WHERE sweep_id = @SweepId AND status = 'succeeded')
                || ':' || (SELECT COUNT(*) FROM runs WHERE sweep_id = @SweepId AND status = 'failed')
                || ':' || (SELECT COUNT(*) FROM runs WHERE sweep_id = @SweepId AND status = 'cancelled')
                || ':' || (SELECT COUNT(*) FROM evaluations e JOIN runs r ON r.id = e.run_id WHERE r.sweep_id = @SweepId)
                || ':' || (SELECT COUNT(*) FROM training_curves c JOIN runs r ON r.id = c.run_id WHERE r.sweep_id = @SweepId)
                || ':' || (SELECT COUNT(*) FROM gate_steps g JOIN runs r ON r.id = g.run_id WHERE r.sweep_id = @SweepId)
                || ':' || (SELECT COUNT(*) FROM run_summaries s JOIN runs r ON r.id = s.run_id WHERE r.sweep_id = @SweepId)
            """;
        return WithConnectionAsync(connection => connection.QuerySingleAsync<string>(new CommandDefinition(sql, new { SweepId = sweepId }, cancellationToken: cancellationToken)), cancellationToken);
    }

    public async Task<IReadOnlyList<CheckpointRecord>> GetCheckpointsAsync(long runId, CancellationToken cancellationToken)
    {
        string sql = """
            SELECT task, epoch, batch, path, sha256
            FROM checkpoints
            WHERE run_id = @RunId
            ORDER BY task, epoch, batch
            """;
        var rows = await WithConnectionAsync(connection =>
            connection.QueryAsync<(long Task, long Epoch, long Batch, string Path, string Sha256)>(new CommandDefinition(sql, new { RunId = runId }, cancellationToken: cancellationToken)), cancellationToken).ConfigureAwait(false);
        return rows.Select(r => new CheckpointRecord((int)r.Task, (int)r.Epoch, (int)r.Batch, r.Path, r.Sha256)).ToList();
    }

    public Task<bool> RetryAsync(long runId, CancellationToken cancellationToken)
    {
        // Checkpoints are kept: a retried run resumes from its last one, like a rescued run.
        string sql = """
            UPDATE runs
            SET status = 'queued', attempt = 0, error = NULL, cancel_requested = 0,
                lease_token = NULL, lease_owner = NULL, lease_expires_at = NULL, finished_at = NULL
            WHERE id = @RunId
              AND status IN ('failed', 'cancelled')
            """;
        return WithConnectionAsync(async connection =>
            await connection.ExecuteAsync(new CommandDefinition(sql, new { RunId = runId }, cancellationToken: cancellationToken)).ConfigureAwait(false) == 1, cancellationToken);
    }

    public Task<SweepData> LoadSweepAsync(long sweepId, CancellationToken cancellationToken)
    {
        string sweepSql = """
            SELECT id, name, spec_text AS SpecText, spec_hash AS SpecHash, created_at AS CreatedAt
            FROM sweeps
            WHERE id = @SweepId
            """;
        string runsSql = """
            SELECT id, config_json AS ConfigJson, config_hash AS ConfigHash, variant, seed, status, attempt, error,
                   started_at AS StartedAt, finished_at AS FinishedAt, code_version AS CodeVersion,
                   environment, dataset_fingerprint AS DatasetFingerprint, progress_note AS ProgressNote, progress
            FROM runs
            WHERE sweep_id = @SweepId
            ORDER BY id
            """;
        string evaluationsSql = """
            SELECT e.run_id AS RunId, e.after_task AS AfterTask, e.epoch, e.eval_task AS EvalTask, e.metric, e.value
            FROM evaluations e
            JOIN runs r ON r.id = e.run_id
            WHERE r.sweep_id = @SweepId
            ORDER BY e.run_id, e.after_task, e.epoch, e.eval_task, e.metric
            """;
        string summariesSql = """
            SELECT s.run_id AS RunId, s.metric, s.convention, s.value
            FROM run_summaries s
            JOIN runs r ON r.id = s.run_id
            WHERE r.sweep_id = @SweepId
            ORDER BY s.run_id, s.metric
            """;
        string gatesSql = """
            SELECT g.run_id AS RunId, g.after_task AS AfterTask, g.layer, g.eval_task AS EvalTask, g.mean,
                   g.frac_gt_0_9 AS FracGt09, g.frac_lt_0_1 AS FracLt01, g.histogram
            FROM gate_telemetry g
            JOIN runs r ON r.id = g.run_id
            WHERE r.sweep_id = @SweepId
            ORDER BY g.run_id, g.after_task, g.layer, g.eval_task
            """;
        string lossSql = """
            SELECT c.run_id AS RunId, c.task, c.epoch, c.step, c.loss, c.samples_per_s AS SamplesPerSecond
            FROM training_curves c
            JOIN runs r ON r.id = c.run_id
            WHERE r.sweep_id = @SweepId
            ORDER BY c.run_id, c.task, c.epoch, c.step
            """;
        string gateStepsSql = """
            SELECT s.run_id AS RunId, s.after_task AS AfterTask, s.epoch, s.layer, s.eval_task AS EvalTask, s.probe_count AS ProbeCount,
                   s.steps, s.units, s.step_means AS StepMeans, s.sample_index AS SampleIndex, s.sample_gates AS SampleGates,
                   s.value_count AS ValueCount, s.value_min AS ValueMin, s.value_max AS ValueMax, s.value_sum AS ValueSum,
                   s.value_sum_squares AS ValueSumSquares, s.histogram
            FROM gate_steps s
            JOIN runs r ON r.id = s.run_id
            WHERE r.sweep_id = @SweepId
            ORDER BY s.run_id, s.after_task, s.epoch, s.layer, s.eval_task
            """;
        var args = new { SweepId = sweepId };
        return WithConnectionAsync(async connection =>
        {
            CommandDefinition Q(string sql) => new(sql, args, cancellationToken: cancellationToken);
            var sweep = (await connection.QuerySingleOrDefaultAsync<SweepRow>(Q(sweepSql)).ConfigureAwait(false))?.ToInfo()
                ?? throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"Sweep {sweepId} does not exist in '{Location}'."));
            var runs = (await connection.QueryAsync<RunRow>(Q(runsSql)).ConfigureAwait(false))
                .Select(r => new StoredRun(r.Id, r.ConfigJson, r.ConfigHash, r.Variant, r.Seed, r.Status, r.Attempt, r.Error, r.StartedAt, r.FinishedAt, r.CodeVersion, r.Environment, r.DatasetFingerprint, ReusedFrom(r.ProgressNote), r.Progress, r.ProgressNote))
                .ToList();
            var evaluations = (await connection.QueryAsync<EvaluationRow>(Q(evaluationsSql)).ConfigureAwait(false))
                .Select(e => new StoredEvaluation(e.RunId, e.AfterTask, e.Epoch, e.EvalTask, e.Metric, e.Value)).ToList();
            var summaries = (await connection.QueryAsync<SummaryRow>(Q(summariesSql)).ConfigureAwait(false))
                .Select(x => new StoredSummary(x.RunId, x.Metric, x.Convention, x.Value)).ToList();
            var gates = (await connection.QueryAsync<GateRow>(Q(gatesSql)).ConfigureAwait(false))
                .Select(g => new StoredGate(g.RunId, g.AfterTask, g.Layer, g.EvalTask, g.Mean, g.FracGt09, g.FracLt01, JsonSerializer.Deserialize(g.Histogram, StorageJsonContext.Default.DoubleArray) ?? []))
                .ToList();
            var losses = (await connection.QueryAsync<LossRow>(Q(lossSql)).ConfigureAwait(false))
                .Select(l => new StoredLoss(l.RunId, l.Task, l.Epoch, l.Step, l.Loss, l.SamplesPerSecond)).ToList();
            var gateSteps = (await connection.QueryAsync<GateStepsRow>(Q(gateStepsSql)).ConfigureAwait(false)).Select(s => s.ToStored()).ToList();
            return new SweepData(sweep, runs, evaluations, summaries, gates, losses, gateSteps);
        }, cancellationToken);
    }

    /// <summary>The progress note of a reused run, followed by the source run's id.</summary>
    private const string ReusedNote = "reused from run ";

    private static long? ReusedFrom(string? note) =>
        note is not null && note.StartsWith(ReusedNote, StringComparison.Ordinal)
            && long.TryParse(note.AsSpan(ReusedNote.Length), NumberStyles.None, CultureInfo.InvariantCulture, out long source) ? source : null;

    public async Task<IReadOnlyList<ReusedRun>> ReuseFinishedRunsAsync(long sweepId, IReadOnlyList<NewRun> runs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runs);

        // The oldest succeeded run of each hash is the source: copies always get newer ids, so a chain of reuses
        // still names the run that was computed.
        // The IN list is spelled out (@h0, @h1, …): Dapper would send a list as one array parameter to PostgreSQL,
        // which IN does not accept there.
        static string CandidatesSql(int count) => $"""
            SELECT config_hash, MIN(id)
            FROM runs
            WHERE status = 'succeeded'
              AND config_hash IN ({string.Join(", ", Enumerable.Range(0, count).Select(i => string.Create(CultureInfo.InvariantCulture, $"@h{i}")))})
              AND config_hash NOT IN (
                  SELECT config_hash
                  FROM runs
                  WHERE sweep_id = @SweepId)
            GROUP BY config_hash
            """;
        var sources = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var chunk in runs.Select(r => r.ConfigHash).Distinct(StringComparer.Ordinal).Chunk(500))
        {
            var parameters = new DynamicParameters(new { SweepId = sweepId });
            for (int i = 0; i < chunk.Length; i++)
            {
                parameters.Add(string.Create(CultureInfo.InvariantCulture, $"h{i}"), chunk[i]);
            }

            var rows = await WithConnectionAsync(connection =>
                connection.QueryAsync<(string ConfigHash, long Id)>(new CommandDefinition(CandidatesSql(chunk.Length), parameters, cancellationToken: cancellationToken)), cancellationToken).ConfigureAwait(false);
            foreach (var (hash, id) in rows)
            {
                sources[hash] = id;
            }
        }

        // The run keeps the source's provenance (config, code version, environment, dataset fingerprint, times) and
        // says where it came from; attempt 0 because nothing was executed for it. ON CONFLICT: a concurrent queuer
        // (or an earlier call) already added this point, and then no row is copied either.
        string runSql = $"""
            INSERT INTO runs (sweep_id, config_json, config_hash, variant, seed, status, priority, attempt, max_attempts,
                              progress, progress_note, queued_at, started_at, finished_at, code_version, environment, dataset_fingerprint)
            SELECT @SweepId, config_json, config_hash, variant, seed, status, @Priority, 0, @MaxAttempts,
                   progress, @Note, {_dialect.Now}, started_at, finished_at, code_version, environment, dataset_fingerprint
            FROM runs
            WHERE id = @SourceId
              AND status = 'succeeded'
            ON CONFLICT (sweep_id, config_hash) DO NOTHING
            RETURNING id
            """;

        // Checkpoints are referenced, not duplicated: the new rows name the source's files.
        string[] copies =
        [
            """
            INSERT INTO evaluations (run_id, after_task, epoch, eval_task, metric, value)
            SELECT @RunId, after_task, epoch, eval_task, metric, value
            FROM evaluations
            WHERE run_id = @SourceId
            """,
            """
            INSERT INTO training_curves (run_id, task, epoch, step, loss, samples_per_s)
            SELECT @RunId, task, epoch, step, loss, samples_per_s
            FROM training_curves
            WHERE run_id = @SourceId
            """,
            """
            INSERT INTO gate_telemetry (run_id, after_task, layer, eval_task, mean, frac_gt_0_9, frac_lt_0_1, histogram)
            SELECT @RunId, after_task, layer, eval_task, mean, frac_gt_0_9, frac_lt_0_1, histogram
            FROM gate_telemetry
            WHERE run_id = @SourceId
            """,
            """
            INSERT INTO gate_steps (run_id, after_task, epoch, layer, eval_task, probe_count, steps, units, step_means, sample_index,
                                    sample_gates, value_count, value_min, value_max, value_sum, value_sum_squares, histogram)
            SELECT @RunId, after_task, epoch, layer, eval_task, probe_count, steps, units, step_means, sample_index,
                   sample_gates, value_count, value_min, value_max, value_sum, value_sum_squares, histogram
            FROM gate_steps
            WHERE run_id = @SourceId
            """,
            """
            INSERT INTO run_summaries (run_id, metric, convention, value)
            SELECT @RunId, metric, convention, value
            FROM run_summaries
            WHERE run_id = @SourceId
            """,
            """
            INSERT INTO checkpoints (run_id, task, epoch, batch, path, sha256, attempt, created_at)
            SELECT @RunId, task, epoch, batch, path, sha256, attempt, created_at
            FROM checkpoints
            WHERE run_id = @SourceId
            """,
        ];

        var reused = new List<ReusedRun>();
        foreach (var run in runs.DistinctBy(r => r.ConfigHash, StringComparer.Ordinal))
        {
            if (!sources.TryGetValue(run.ConfigHash, out long sourceId))
            {
                continue;
            }

            var args = new
            {
                SweepId = sweepId,
                SourceId = sourceId,
                run.Priority,
                run.MaxAttempts,
                Note = string.Create(CultureInfo.InvariantCulture, $"{ReusedNote}{sourceId}"),
            };
            long? runId = await InWriteAsync(async (connection, transaction) =>
            {
                long? id = await connection.QuerySingleOrDefaultAsync<long?>(new CommandDefinition(runSql, args, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                if (id is { } created)
                {
                    foreach (string sql in copies)
                    {
                        await connection.ExecuteAsync(new CommandDefinition(sql, new { RunId = created, SourceId = sourceId }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                    }
                }

                return id;
            }, cancellationToken).ConfigureAwait(false);
            if (runId is { } added)
            {
                reused.Add(new ReusedRun(run.ConfigHash, sourceId, added));
            }
        }

        return reused;
    }

    // Dapper maps columns to settable properties with type conversion (SQLite INTEGER is Int64);
    // positional records would need exact types, so rows land here first.
    private sealed class SweepRow
    {
        public long Id { get; init; }

        public string Name { get; init; } = "";

        public string SpecText { get; init; } = "";

        public string SpecHash { get; init; } = "";

        public string CreatedAt { get; init; } = "";

        public SweepInfo ToInfo() => new(Id, Name, SpecText, SpecHash, CreatedAt);
    }

    private sealed class RunRow
    {
        public long Id { get; init; }

        public string ConfigJson { get; init; } = "";

        public string ConfigHash { get; init; } = "";

        public string? Variant { get; init; }

        public long Seed { get; init; }

        public string Status { get; init; } = "";

        public long Attempt { get; init; }

        public string? Error { get; init; }

        public string? StartedAt { get; init; }

        public string? FinishedAt { get; init; }

        public string? CodeVersion { get; init; }

        public string? Environment { get; init; }

        public string? DatasetFingerprint { get; init; }

        public string? ProgressNote { get; init; }

        public double Progress { get; init; }
    }

    private sealed class EvaluationRow
    {
        public long RunId { get; init; }

        public int AfterTask { get; init; }

        public int Epoch { get; init; }

        public int EvalTask { get; init; }

        public string Metric { get; init; } = "";

        public double Value { get; init; }
    }

    private sealed class SummaryRow
    {
        public long RunId { get; init; }

        public string Metric { get; init; } = "";

        public string Convention { get; init; } = "";

        public double Value { get; init; }
    }

    private sealed class LossRow
    {
        public long RunId { get; init; }

        public int Task { get; init; }

        public int Epoch { get; init; }

        public int Step { get; init; }

        public double Loss { get; init; }

        public double SamplesPerSecond { get; init; }
    }

    private sealed class AttemptRow
    {
        public long Attempt { get; init; }

        public string LeaseOwner { get; init; } = "";

        public string ClaimedAt { get; init; } = "";
    }

    private sealed class GateStepsRow
    {
        public long RunId { get; init; }

        public int AfterTask { get; init; }

        public int Epoch { get; init; }

        public int Layer { get; init; }

        public int EvalTask { get; init; }

        public int ProbeCount { get; init; }

        public int Steps { get; init; }

        public int Units { get; init; }

        public string StepMeans { get; init; } = "[]";

        public int SampleIndex { get; init; }

        public byte[] SampleGates { get; init; } = [];

        public long ValueCount { get; init; }

        public double ValueMin { get; init; }

        public double ValueMax { get; init; }

        public double ValueSum { get; init; }

        public double ValueSumSquares { get; init; }

        public string Histogram { get; init; } = "[]";

        public StoredGateSteps ToStored() => new(RunId, new GateStepRow(
            AfterTask, Epoch, Layer, EvalTask, ProbeCount, Steps, Units,
            JsonSerializer.Deserialize(StepMeans, StorageJsonContext.Default.DoubleArray) ?? [], SampleIndex, GateStepCodec.DecodeHalves(SampleGates),
            new GateSpread(ValueCount, ValueMin, ValueMax, ValueSum, ValueSumSquares, JsonSerializer.Deserialize(Histogram, StorageJsonContext.Default.Int64Array) ?? [])));
    }

    private sealed class GateRow
    {
        public long RunId { get; init; }

        public int AfterTask { get; init; }

        public int Layer { get; init; }

        public int EvalTask { get; init; }

        public double Mean { get; init; }

        public double FracGt09 { get; init; }

        public double FracLt01 { get; init; }

        public string Histogram { get; init; } = "[]";
    }
}
