using Dapper;
using ForgetGate.Lab.Core.Runs;

namespace ForgetGate.Lab.Storage;

/// <summary>Claiming several runs of one shape at once, for a worker that trains them together (DESIGN.md §13).</summary>
internal sealed partial class RunStore
{
    /// <summary>
    /// How many queued runs after the first one a batch claim looks at for matches, per run wanted. The key is computed
    /// from each candidate's config in the worker, so the look-ahead is bounded: a queue of 100,000 runs is not read
    /// to fill one batch. Matches beyond it are claimed by the next batch.
    /// </summary>
    internal const int LookAheadPerRun = 16;

    public async Task<IReadOnlyList<ClaimedRun>> ClaimMatchingAsync(ClaimRequest request, int maxRuns, Func<string, string?> keyOf, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(keyOf);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRuns, 1);

        // The first run is exactly the run a plain claim would take (priority, then age), so batching never lets a
        // later run overtake an earlier one of a different shape.
        var first = await ClaimAsync(request, cancellationToken).ConfigureAwait(false);
        if (first is null)
        {
            return [];
        }

        // A quarantined run (its lease once expired in a shared process) runs alone, never in a batch (RescueExpiredAsync).
        string? key = maxRuns == 1 || first.Quarantined ? null : keyOf(first.ConfigJson);
        if (key is null)
        {
            return [first];
        }

        string candidates = $"""
            SELECT id, config_json
            FROM runs
            WHERE status = 'queued'
              AND cancel_requested = 0
              AND (@SweepId IS NULL OR sweep_id = @SweepId)
            ORDER BY priority DESC, id
            LIMIT @Limit
            """;
        var queued = await WithConnectionAsync(connection => connection.QueryAsync<CandidateRow>(new CommandDefinition(
            candidates, new { request.SweepId, Limit = (maxRuns - 1) * LookAheadPerRun }, cancellationToken: cancellationToken)), cancellationToken).ConfigureAwait(false);
        var ids = new List<long>();
        foreach (var row in queued)
        {
            if (ids.Count == maxRuns - 1)
            {
                break;
            }

            if (string.Equals(keyOf(row.ConfigJson), key, StringComparison.Ordinal))
            {
                ids.Add(row.Id);
            }
        }

        var claimed = new List<ClaimedRun> { first };
        if (ids.Count > 0)
        {
            claimed.AddRange(await ClaimIdsAsync(request, first, ids, cancellationToken).ConfigureAwait(false));
        }

        return claimed;
    }

    /// <summary>
    /// Claims those of <paramref name="ids"/> that are still queued and not asked to cancel (another worker may have
    /// taken some since they were listed; they are skipped, not waited for), in one transaction: the claim, an audit
    /// row and the last checkpoint of each, as <see cref="ClaimAsync"/> does for one run.
    /// </summary>
    /// <remarks>
    /// Runs trained in one batch share a process: every lease of the batch, the first run's included, is marked shared,
    /// so a process death costs none of them an attempt and quarantines them instead (<see cref="RescueExpiredAsync"/>).
    /// </remarks>
    private Task<IReadOnlyList<ClaimedRun>> ClaimIdsAsync(ClaimRequest request, ClaimedRun first, IReadOnlyList<long> ids, CancellationToken cancellationToken)
    {
        string markFirst = """
            UPDATE runs
            SET lease_shared = 1
            WHERE id = @RunId
              AND lease_token = @LeaseToken
              AND status = 'running'
            """;
        string markFirstAudit = """
            UPDATE run_attempts
            SET shared = 1
            WHERE run_id = @RunId
              AND lease_token = @LeaseToken
            """;
        // One UPDATE per run, each with its own fresh lease token; the row lock of the sub-select (PostgreSQL) makes a
        // run another claimer holds invisible rather than waited for.
        string claimOne = $"""
            UPDATE runs
            {ClaimSet}
            WHERE id = (
                SELECT id
                FROM runs
                WHERE id = @RunId
                  AND status = 'queued'
                  AND cancel_requested = 0
                  AND quarantined = 0
                {_dialect.ClaimLockClause})
            RETURNING id, sweep_id, config_json, config_hash, seed, attempt, max_attempts, lease_token, lease_shared, quarantined
            """;
        return InWriteAsync<IReadOnlyList<ClaimedRun>>(async (connection, transaction) =>
        {
            var claimed = new List<ClaimedRun>();
            foreach (long id in ids)
            {
                var one = new
                {
                    Token = Guid.NewGuid().ToString("N"),
                    request.Owner,
                    LeaseSeconds = request.Lease.TotalSeconds,
                    request.CodeVersion,
                    request.EnvironmentJson,
                    RunId = id,
                    Shared = 1,
                };
                var row = await connection.QuerySingleOrDefaultAsync<ClaimRow>(new CommandDefinition(claimOne, one, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                if (row is null)
                {
                    continue;
                }

                await connection.ExecuteAsync(new CommandDefinition(ClaimAudit, new { RunId = row.Id, row.Attempt, row.LeaseToken, request.Owner, row.LeaseShared, row.Quarantined }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                var checkpoint = await connection.QuerySingleOrDefaultAsync<CheckpointRow>(new CommandDefinition(LastCheckpointOfRun, new { RunId = row.Id }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                claimed.Add(new ClaimedRun(row.Id, row.SweepId, row.ConfigJson, row.ConfigHash, row.Seed, (int)row.Attempt, (int)row.MaxAttempts, row.LeaseToken,
                    checkpoint is null ? null : new CheckpointRecord((int)checkpoint.Task, (int)checkpoint.Epoch, (int)checkpoint.Batch, checkpoint.Path, checkpoint.Sha256)));
            }

            if (claimed.Count > 0)
            {
                var firstLease = new { first.RunId, first.LeaseToken };
                await connection.ExecuteAsync(new CommandDefinition(markFirst, firstLease, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                await connection.ExecuteAsync(new CommandDefinition(markFirstAudit, firstLease, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            }

            return claimed;
        }, cancellationToken);
    }

    private sealed class CandidateRow
    {
        public long Id { get; init; }

        public string ConfigJson { get; init; } = "";
    }
}
