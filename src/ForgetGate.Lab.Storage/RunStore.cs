using System.Data.Common;
using System.Globalization;
using Dapper;
using ForgetGate.Lab.Core.Runs;

namespace ForgetGate.Lab.Storage;

/// <summary>The queue and store written once over a <see cref="SqlDialect"/>; see <see cref="IRunStore"/>.</summary>
internal sealed partial class RunStore : IRunStore
{
    private readonly SqlDialect _dialect;

    static RunStore() => DefaultTypeMap.MatchNamesWithUnderscores = true;

    public RunStore(SqlDialect dialect) => _dialect = dialect;

    public string Location => _dialect.Location;

    internal SqlDialect Dialect => _dialect;

    public Task<int> MigrateAsync(CancellationToken cancellationToken) =>
        GuardAsync(() => _dialect.MigrateAsync(cancellationToken));

    public Task<long> CreateSweepAsync(NewSweep sweep, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sweep);
        // One key (name, spec_hash): concurrent queuers of the same spec meet at the same row in either store.
        string insert = $"""
            INSERT INTO sweeps (name, spec_text, spec_hash, created_at)
            VALUES (@Name, @SpecText, @SpecHash, {_dialect.Now})
            ON CONFLICT (name, spec_hash) DO NOTHING
            RETURNING id
            """;
        string find = """
            SELECT id
            FROM sweeps
            WHERE name = @Name
              AND spec_hash = @SpecHash
            """;
        return InWriteAsync(async (connection, transaction) =>
        {
            long? created = await connection.QuerySingleOrDefaultAsync<long?>(new CommandDefinition(insert, sweep, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            return created ?? await connection.QuerySingleAsync<long>(new CommandDefinition(find, sweep, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }, cancellationToken);
    }

    public Task<EnqueueResult> EnqueueAsync(long sweepId, IReadOnlyList<NewRun> runs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runs);
        string sql = $"""
            INSERT INTO runs (sweep_id, config_json, config_hash, variant, seed, priority, max_attempts, dataset_fingerprint, queued_at)
            VALUES (@SweepId, @ConfigJson, @ConfigHash, @Variant, @Seed, @Priority, @MaxAttempts, @DatasetFingerprint, {_dialect.Now})
            ON CONFLICT (sweep_id, config_hash) DO NOTHING
            """;
        return InWriteAsync(async (connection, transaction) =>
        {
            int inserted = 0;
            foreach (var run in runs)
            {
                if (run.MaxAttempts < 1)
                {
                    throw new ArgumentException($"Run {run.ConfigHash}: max_attempts = {run.MaxAttempts}, expected ≥ 1.", nameof(runs));
                }

                var args = new { SweepId = sweepId, run.ConfigJson, run.ConfigHash, run.Variant, run.Seed, run.Priority, run.MaxAttempts, run.DatasetFingerprint };
                inserted += await connection.ExecuteAsync(new CommandDefinition(sql, args, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            }

            return new EnqueueResult(inserted, runs.Count - inserted);
        }, cancellationToken);
    }

    public Task<int> RescueExpiredAsync(CancellationToken cancellationToken)
    {
        // A lease taken in a shared process (lease_shared = 1) that expired is not counted: the process died or stalled
        // with other runs in it, and any of them may have been the cause. The attempt is given back (as a graceful
        // release gives it back) and the run is quarantined: from now on it is claimed only by a process that runs
        // nothing beside it, so each of its later expiries is its own and counts. A run is forgiven at most once per
        // quarantine (quarantined runs never hold a shared lease), so a poison run still ends failed after
        // max_attempts crashes alone, and nothing runs forever. SET expressions all read the row's old values.
        string sql = $"""
            UPDATE runs
            SET status = CASE WHEN lease_shared = 1 OR attempt < max_attempts THEN 'queued' ELSE 'failed' END,
                error = CASE WHEN lease_shared = 1 OR attempt < max_attempts THEN error ELSE 'lease expired after ' || attempt || ' attempts' END,
                finished_at = CASE WHEN lease_shared = 1 OR attempt < max_attempts THEN NULL ELSE {_dialect.Now} END,
                attempt = CASE WHEN lease_shared = 1 THEN attempt - 1 ELSE attempt END,
                quarantined = CASE WHEN lease_shared = 1 THEN 1 ELSE quarantined END,
                lease_shared = 0,
                lease_token = NULL,
                lease_expires_at = NULL
            WHERE status = 'running'
              AND lease_expires_at < {_dialect.Now}
            """;
        return WithConnectionAsync(connection => connection.ExecuteAsync(new CommandDefinition(sql, cancellationToken: cancellationToken)), cancellationToken);
    }

    public Task<ClaimedRun?> ClaimAsync(ClaimRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);

        // The claim is this one statement: the sub-select picks the candidate and the UPDATE takes it with a fresh
        // token. SQLite serialises writers, PostgreSQL skips rows other claimers hold (ClaimLockClause).
        string claim = $"""
            UPDATE runs
            {ClaimSet}
            WHERE id = (
                SELECT id
                FROM runs
                WHERE status = 'queued'
                  AND cancel_requested = 0
                  AND (@SweepId IS NULL OR sweep_id = @SweepId)
                  AND (@AllowQuarantined = 1 OR quarantined = 0)
                ORDER BY priority DESC, id
                LIMIT 1
                {_dialect.ClaimLockClause})
            RETURNING id, sweep_id, config_json, config_hash, seed, attempt, max_attempts, lease_token, lease_shared, quarantined
            """;
        var args = new
        {
            Token = Guid.NewGuid().ToString("N"),
            request.Owner,
            LeaseSeconds = request.Lease.TotalSeconds,
            request.CodeVersion,
            request.EnvironmentJson,
            request.SweepId,
            Shared = request.Shared ? 1 : 0,
            AllowQuarantined = request.AllowQuarantined ? 1 : 0,
        };
        if (_dialect.WritableCtes)
        {
            // PostgreSQL: claim, audit row and checkpoint lookup in one statement, so one round trip (and one
            // commit) per claim; a single statement is atomic on its own.
            string single = $"""
                WITH claimed AS (
                {claim}
                ),
                audit AS (
                    INSERT INTO run_attempts (run_id, attempt, lease_token, lease_owner, claimed_at, shared, quarantined)
                    SELECT id, attempt, lease_token, @Owner, {_dialect.Now}, lease_shared, quarantined
                    FROM claimed
                )
                SELECT c.id, c.sweep_id, c.config_json, c.config_hash, c.seed, c.attempt, c.max_attempts, c.lease_token, c.quarantined,
                       k.task AS checkpoint_task, k.epoch AS checkpoint_epoch, k.batch AS checkpoint_batch,
                       k.path AS checkpoint_path, k.sha256 AS checkpoint_sha256
                FROM claimed c
                LEFT JOIN LATERAL (
                    SELECT task, epoch, batch, path, sha256
                    FROM checkpoints
                    WHERE run_id = c.id
                    ORDER BY task DESC, epoch DESC, batch DESC
                    LIMIT 1) k ON TRUE
                """;
            return WithConnectionAsync<ClaimedRun?>(async connection =>
            {
                var row = await connection.QuerySingleOrDefaultAsync<ClaimRow>(new CommandDefinition(single, args, cancellationToken: cancellationToken)).ConfigureAwait(false);
                return row is null
                    ? null
                    : new ClaimedRun(row.Id, row.SweepId, row.ConfigJson, row.ConfigHash, row.Seed, (int)row.Attempt, (int)row.MaxAttempts, row.LeaseToken,
                        row.CheckpointPath is null ? null : new CheckpointRecord((int)row.CheckpointTask, (int)row.CheckpointEpoch, (int)row.CheckpointBatch, row.CheckpointPath, row.CheckpointSha256!),
                        row.Quarantined != 0);
            }, cancellationToken);
        }

        return InWriteAsync<ClaimedRun?>(async (connection, transaction) =>
        {
            var row = await connection.QuerySingleOrDefaultAsync<ClaimRow>(new CommandDefinition(claim, args, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            if (row is null)
            {
                return null;
            }

            await connection.ExecuteAsync(new CommandDefinition(ClaimAudit, new { RunId = row.Id, row.Attempt, row.LeaseToken, request.Owner, row.LeaseShared, row.Quarantined }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            var checkpoint = await connection.QuerySingleOrDefaultAsync<CheckpointRow>(new CommandDefinition(LastCheckpointOfRun, new { RunId = row.Id }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            return new ClaimedRun(row.Id, row.SweepId, row.ConfigJson, row.ConfigHash, row.Seed, (int)row.Attempt, (int)row.MaxAttempts, row.LeaseToken,
                checkpoint is null ? null : new CheckpointRecord((int)checkpoint.Task, (int)checkpoint.Epoch, (int)checkpoint.Batch, checkpoint.Path, checkpoint.Sha256),
                row.Quarantined != 0);
        }, cancellationToken);
    }

    /// <summary>The audit row of a claim, one per attempt; single and batch claims write the same row.</summary>
    private string ClaimAudit => $"""
        INSERT INTO run_attempts (run_id, attempt, lease_token, lease_owner, claimed_at, shared, quarantined)
        VALUES (@RunId, @Attempt, @LeaseToken, @Owner, {_dialect.Now}, @LeaseShared, @Quarantined)
        """;

    /// <summary>A claimed run's latest checkpoint, where its attempt resumes.</summary>
    private const string LastCheckpointOfRun = """
        SELECT task, epoch, batch, path, sha256
        FROM checkpoints
        WHERE run_id = @RunId
        ORDER BY task DESC, epoch DESC, batch DESC
        LIMIT 1
        """;

    /// <summary>
    /// What taking a run under a lease writes: shared by <see cref="ClaimAsync"/> and <see cref="ClaimMatchingAsync"/>,
    /// so a run claimed in a batch is claimed exactly as a run claimed alone (attempt accounting included).
    /// Parameters: @Token, @Owner, @LeaseSeconds, @CodeVersion, @EnvironmentJson, @Shared (0/1). A quarantined run's
    /// lease is never shared: whoever may claim it (AllowQuarantined) runs it alone.
    /// </summary>
    private string ClaimSet => $"""
        SET status = 'running',
                lease_shared = CASE WHEN quarantined = 1 THEN 0 ELSE @Shared END,
                lease_token = @Token,
                lease_owner = @Owner,
                lease_expires_at = {_dialect.NowPlusSeconds("@LeaseSeconds")},
                heartbeat_at = {_dialect.Now},
                started_at = COALESCE(started_at, {_dialect.Now}),
                attempt = attempt + 1,
                code_version = COALESCE(@CodeVersion, code_version),
                environment = COALESCE(@EnvironmentJson, environment)
        """;

    public Task<HeartbeatResult?> HeartbeatAsync(long runId, string leaseToken, TimeSpan lease, CancellationToken cancellationToken)
    {
        string sql = $"""
            UPDATE runs
            SET lease_expires_at = {_dialect.NowPlusSeconds("@LeaseSeconds")},
                heartbeat_at = {_dialect.Now}
            WHERE id = @RunId
              AND lease_token = @LeaseToken
              AND status = 'running'
            RETURNING cancel_requested
            """;
        var args = new { RunId = runId, LeaseToken = leaseToken, LeaseSeconds = lease.TotalSeconds };
        return WithConnectionAsync(async connection =>
        {
            long? cancel = await connection.QuerySingleOrDefaultAsync<long?>(new CommandDefinition(sql, args, cancellationToken: cancellationToken)).ConfigureAwait(false);
            return cancel is null ? null : new HeartbeatResult(cancel.Value != 0);
        }, cancellationToken);
    }

    public Task<bool> ReleaseAsync(long runId, string leaseToken, CancellationToken cancellationToken)
    {
        // attempt - 1: a graceful stop is not a failed attempt, so it must not count towards max_attempts.
        string sql = """
            UPDATE runs
            SET status = 'queued',
                attempt = attempt - 1,
                lease_token = NULL,
                lease_expires_at = NULL
            WHERE id = @RunId
              AND lease_token = @LeaseToken
              AND status = 'running'
            """;
        return ExecuteFencedAsync(sql, new { RunId = runId, LeaseToken = leaseToken }, cancellationToken);
    }

    public Task<bool> FailAsync(long runId, string leaseToken, string message, bool retryable, CancellationToken cancellationToken)
    {
        string sql = $"""
            UPDATE runs
            SET status = CASE WHEN @Retryable = 1 AND attempt < max_attempts THEN 'queued' ELSE 'failed' END,
                finished_at = CASE WHEN @Retryable = 1 AND attempt < max_attempts THEN NULL ELSE {_dialect.Now} END,
                error = @Error,
                lease_token = NULL,
                lease_expires_at = NULL
            WHERE id = @RunId
              AND lease_token = @LeaseToken
              AND status = 'running'
            """;
        return ExecuteFencedAsync(sql, new { RunId = runId, LeaseToken = leaseToken, Error = message, Retryable = retryable ? 1 : 0 }, cancellationToken);
    }

    public Task<bool> MarkCancelledAsync(long runId, string leaseToken, CancellationToken cancellationToken)
    {
        string sql = $"""
            UPDATE runs
            SET status = 'cancelled',
                finished_at = {_dialect.Now},
                lease_token = NULL,
                lease_expires_at = NULL
            WHERE id = @RunId
              AND lease_token = @LeaseToken
              AND status = 'running'
            """;
        return ExecuteFencedAsync(sql, new { RunId = runId, LeaseToken = leaseToken }, cancellationToken);
    }

    public Task<bool> RequestCancelAsync(long runId, CancellationToken cancellationToken)
    {
        string sql = $"""
            UPDATE runs
            SET cancel_requested = 1,
                status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
                finished_at = CASE WHEN status = 'queued' THEN {_dialect.Now} ELSE finished_at END
            WHERE id = @RunId
              AND status IN ('queued', 'running')
            """;
        return WithConnectionAsync(async connection =>
            await connection.ExecuteAsync(new CommandDefinition(sql, new { RunId = runId }, cancellationToken: cancellationToken)).ConfigureAwait(false) == 1, cancellationToken);
    }

    public IRunSink OpenSink(ClaimedRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        return new RunSink(this, run.RunId, run.LeaseToken, run.Attempt);
    }

    public Task<RunRecord?> GetRunAsync(long runId, CancellationToken cancellationToken)
    {
        string sql = """
            SELECT id, sweep_id, config_json, config_hash, seed, status, priority, attempt, max_attempts,
                   lease_token, lease_owner, progress, error, cancel_requested
            FROM runs
            WHERE id = @RunId
            """;
        return WithConnectionAsync(connection =>
            connection.QuerySingleOrDefaultAsync<RunRecord?>(new CommandDefinition(sql, new { RunId = runId }, cancellationToken: cancellationToken)), cancellationToken);
    }

    public Task<IReadOnlyList<SweepStatus>> GetStatusAsync(CancellationToken cancellationToken)
    {
        string sql = """
            SELECT s.id AS sweep_id,
                   s.name,
                   COALESCE(SUM(CASE WHEN r.status = 'queued' THEN 1 ELSE 0 END), 0) AS queued,
                   COALESCE(SUM(CASE WHEN r.status = 'running' THEN 1 ELSE 0 END), 0) AS running,
                   COALESCE(SUM(CASE WHEN r.status = 'succeeded' THEN 1 ELSE 0 END), 0) AS succeeded,
                   COALESCE(SUM(CASE WHEN r.status = 'failed' THEN 1 ELSE 0 END), 0) AS failed,
                   COALESCE(SUM(CASE WHEN r.status = 'cancelled' THEN 1 ELSE 0 END), 0) AS cancelled,
                   COALESCE(AVG(r.progress), 0) AS mean_progress
            FROM sweeps s
            LEFT JOIN runs r ON r.sweep_id = s.id
            GROUP BY s.id, s.name
            ORDER BY s.id
            """;
        return WithConnectionAsync<IReadOnlyList<SweepStatus>>(async connection =>
        {
            var rows = await connection.QueryAsync<StatusRow>(new CommandDefinition(sql, cancellationToken: cancellationToken)).ConfigureAwait(false);
            return [.. rows.Select(r => new SweepStatus(r.SweepId, r.Name, r.Queued, r.Running, r.Succeeded, r.Failed, r.Cancelled, r.MeanProgress))];
        }, cancellationToken);
    }

    /// <summary>Runs <paramref name="work"/> on a fresh connection, turning environmental faults into <see cref="StoreUnavailableException"/>.</summary>
    internal Task<T> WithConnectionAsync<T>(Func<DbConnection, Task<T>> work, CancellationToken cancellationToken) =>
        GuardAsync(async () =>
        {
            var connection = await _dialect.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                return await work(connection).ConfigureAwait(false);
            }
        });

    /// <summary>Runs <paramref name="work"/> inside a write transaction that holds the write lock from its first statement.</summary>
    internal Task<T> InWriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken) =>
        WithConnectionAsync(async connection =>
        {
            var transaction = _dialect.BeginWrite(connection);
            await using (transaction.ConfigureAwait(false))
            {
                var result = await work(connection, transaction).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return result;
            }
        }, cancellationToken);

    private Task<bool> ExecuteFencedAsync(string sql, object args, CancellationToken cancellationToken) =>
        WithConnectionAsync(async connection =>
            await connection.ExecuteAsync(new CommandDefinition(sql, args, cancellationToken: cancellationToken)).ConfigureAwait(false) == 1, cancellationToken);

    private async Task<T> GuardAsync<T>(Func<Task<T>> work)
    {
        try
        {
            return await work().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not StoreUnavailableException && _dialect.Classify(e) is { } fault)
        {
            _dialect.ResetConnections();
            string why = fault switch
            {
                StoreFault.ReadOnly => "the database is read-only",
                StoreFault.Full => "the database or its disk is full",
                _ => "the database cannot be opened or written",
            };
            throw new StoreUnavailableException(fault, string.Create(CultureInfo.InvariantCulture, $"Store '{_dialect.Location}': {why} ({e.Message.Trim().TrimEnd('.')})."), e);
        }
    }

    private sealed class ClaimRow
    {
        public long Id { get; init; }

        public long SweepId { get; init; }

        public string ConfigJson { get; init; } = "";

        public string ConfigHash { get; init; } = "";

        public long Seed { get; init; }

        public long Attempt { get; init; }

        public long MaxAttempts { get; init; }

        public string LeaseToken { get; init; } = "";

        public long LeaseShared { get; init; }

        public long Quarantined { get; init; }

        public long CheckpointTask { get; init; }

        public long CheckpointEpoch { get; init; }

        public long CheckpointBatch { get; init; }

        public string? CheckpointPath { get; init; }

        public string? CheckpointSha256 { get; init; }
    }

    private sealed class CheckpointRow
    {
        public long Task { get; init; }

        public long Epoch { get; init; }

        public long Batch { get; init; }

        public string Path { get; init; } = "";

        public string Sha256 { get; init; } = "";
    }

    private sealed class StatusRow
    {
        public long SweepId { get; init; }

        public string Name { get; init; } = "";

        public long Queued { get; init; }

        public long Running { get; init; }

        public long Succeeded { get; init; }

        public long Failed { get; init; }

        public long Cancelled { get; init; }

        public double MeanProgress { get; init; }
    }
}
