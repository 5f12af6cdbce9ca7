using System.Data;
using System.Data.Common;
using System.Globalization;
using System.Text;
using Dapper;

namespace ForgetGate.Lab.Storage;

/// <summary>What copying one sweep did in the target store.</summary>
/// <param name="Sweep">Sweep name.</param>
/// <param name="TargetSweepId">The sweep's id in the target store.</param>
/// <param name="Copied">Runs new to the target, copied with all their rows.</param>
/// <param name="Updated">Runs the target had unfinished and the source has finished: replaced by the source's.</param>
/// <param name="AlreadyThere">Runs the target already had (same sweep, same config hash): left alone.</param>
/// <param name="Unfinished">Copied runs that were queued or running in the source: they arrive queued.</param>
/// <param name="Rows">Rows written (runs and their metric, curve, telemetry, checkpoint and attempt rows).</param>
public sealed record SweepCopyResult(string Sweep, long TargetSweepId, int Copied, int Updated, int AlreadyThere, int Unfinished, long Rows);

/// <summary>
/// Copies sweeps and every row of their runs from one store to another (either provider to either provider), e.g. a
/// laptop's SQLite file into the shared PostgreSQL database. Each sweep is read in one snapshot and written in one
/// transaction, so a failure leaves the target as it was. A sweep is matched by (name, spec hash) and a run by its
/// config hash within the sweep, so repeating a copy writes nothing twice; a run the target has unfinished is replaced
/// when the source has it succeeded. Runs queued or running in the source arrive queued (no lease crosses stores).
/// Rows are copied column by column as stored (times stay ISO text, floats stay float64), so reports from either
/// store are identical.
/// </summary>
public static class StoreCopier
{
    /// <summary>Tables keyed by run, copied with <c>run_id</c> mapped to the target's run id.</summary>
    internal static readonly string[] RunTables = ["run_attempts", "evaluations", "training_curves", "gate_telemetry", "gate_steps", "checkpoints", "run_summaries"];

    private const int RowsPerStatement = 400;

    /// <summary>
    /// Copies the named sweeps (ids or names; all sweeps when empty). Migrates the target first. Reports each sweep to
    /// <paramref name="progress"/> as it completes.
    /// </summary>
    public static async Task<IReadOnlyList<SweepCopyResult>> CopyAsync(IRunStore source, IRunStore target, IReadOnlyList<string> sweeps, Action<SweepCopyResult>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sweeps);
        var from = source as RunStore ?? throw new ArgumentException("Unknown store implementation.", nameof(source));
        var to = target as RunStore ?? throw new ArgumentException("Unknown store implementation.", nameof(target));
        if (string.Equals(from.Location, to.Location, StringComparison.Ordinal))
        {
            throw new ArgumentException($"--from and --to are the same store ({from.Location}).");
        }

        await to.MigrateAsync(cancellationToken).ConfigureAwait(false);
        var ids = new List<long>();
        if (sweeps.Count == 0)
        {
            ids.AddRange((await from.GetStatusAsync(cancellationToken).ConfigureAwait(false)).Select(s => s.SweepId));
        }
        else
        {
            foreach (string sweep in sweeps)
            {
                var info = await from.FindSweepAsync(sweep, cancellationToken).ConfigureAwait(false)
                    ?? throw new ArgumentException($"--sweep '{sweep}': no such sweep in {from.Location}; 'forgetgate status --db …' lists them.");
                ids.Add(info.Id);
            }
        }

        var results = new List<SweepCopyResult>();
        foreach (long id in ids.Distinct())
        {
            var archive = await ReadAsync(from, id, cancellationToken).ConfigureAwait(false);
            var result = await WriteAsync(to, archive, cancellationToken).ConfigureAwait(false);
            results.Add(result);
            progress?.Invoke(result);
        }

        return results;
    }

    private static Task<Archive> ReadAsync(RunStore store, long sweepId, CancellationToken cancellationToken) =>
        store.WithConnectionAsync(async connection =>
        {
            var transaction = store.Dialect.BeginSnapshotRead(connection);
            await using (transaction.ConfigureAwait(false))
            {
                CommandDefinition Q(string sql) => new(sql, new { SweepId = sweepId }, transaction, cancellationToken: cancellationToken);
                var sweep = Rows(await connection.QueryAsync(Q("SELECT name, spec_text, spec_hash, created_at FROM sweeps WHERE id = @SweepId")).ConfigureAwait(false)).Single();
                var runs = Rows(await connection.QueryAsync(Q("SELECT * FROM runs WHERE sweep_id = @SweepId ORDER BY id")).ConfigureAwait(false));
                var children = new Dictionary<string, List<Dictionary<string, object?>>>(StringComparer.Ordinal);
                foreach (string table in RunTables)
                {
                    children[table] = Rows(await connection.QueryAsync(Q($"SELECT t.* FROM {table} t JOIN runs r ON r.id = t.run_id WHERE r.sweep_id = @SweepId")).ConfigureAwait(false));
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return new Archive(sweep, runs, children);
            }
        }, cancellationToken);

    private static Task<SweepCopyResult> WriteAsync(RunStore store, Archive archive, CancellationToken cancellationToken) =>
        store.InWriteAsync(async (connection, transaction) =>
        {
            CommandDefinition C(string sql, object? args = null) => new(sql, args, transaction, cancellationToken: cancellationToken);
            string name = (string)archive.Sweep["name"]!;
            var sweepArgs = new { Name = name, SpecText = archive.Sweep["spec_text"], SpecHash = archive.Sweep["spec_hash"], CreatedAt = archive.Sweep["created_at"] };
            long sweepId = await connection.QuerySingleOrDefaultAsync<long?>(C("""
                INSERT INTO sweeps (name, spec_text, spec_hash, created_at)
                VALUES (@Name, @SpecText, @SpecHash, @CreatedAt)
                ON CONFLICT (name, spec_hash) DO NOTHING
                RETURNING id
                """, sweepArgs)).ConfigureAwait(false)
                ?? await connection.QuerySingleAsync<long>(C("SELECT id FROM sweeps WHERE name = @Name AND spec_hash = @SpecHash", sweepArgs)).ConfigureAwait(false);

            var existing = (await connection.QueryAsync<(long Id, string ConfigHash, string Status)>(C("SELECT id, config_hash, status FROM runs WHERE sweep_id = @SweepId", new { SweepId = sweepId })).ConfigureAwait(false))
                .ToDictionary(r => r.ConfigHash, StringComparer.Ordinal);

            var runIds = new Dictionary<long, long>(); // source run id → target run id, for runs whose rows are copied
            int copied = 0, updated = 0, already = 0, unfinished = 0;
            long rows = 0;
            foreach (var source in archive.Runs)
            {
                long sourceId = Convert.ToInt64(source["id"], CultureInfo.InvariantCulture);
                string hash = (string)source["config_hash"]!;
                string status = (string)source["status"]!;
                var row = new Dictionary<string, object?>(source, StringComparer.Ordinal);
                row.Remove("id");
                row["sweep_id"] = sweepId;
                if (status is RunStatus.Running or RunStatus.Queued)
                {
                    // No lease crosses stores: a worker of the target claims it afresh (resuming from a checkpoint whose file it can read).
                    row["status"] = RunStatus.Queued;
                    row["lease_token"] = null;
                    row["lease_expires_at"] = null;
                }

                if (!existing.TryGetValue(hash, out var there))
                {
                    runIds[sourceId] = await connection.QuerySingleAsync<long>(C(InsertSql("runs", row.Keys, 1) + " RETURNING id", Parameters([row], row.Keys))).ConfigureAwait(false);
                    copied++;
                    unfinished += status is RunStatus.Running or RunStatus.Queued ? 1 : 0;
                }
                else if (status == RunStatus.Succeeded && there.Status is not (RunStatus.Succeeded or RunStatus.Running))
                {
                    foreach (string table in RunTables)
                    {
                        await connection.ExecuteAsync(C($"DELETE FROM {table} WHERE run_id = @RunId", new { RunId = there.Id })).ConfigureAwait(false);
                    }

                    string set = string.Join(", ", row.Keys.Select((c, i) => $"{c} = @p{i}_0"));
                    var args = Parameters([row], row.Keys);
                    args.Add("TargetId", there.Id);
                    await connection.ExecuteAsync(C($"UPDATE runs SET {set} WHERE id = @TargetId", args)).ConfigureAwait(false);
                    runIds[sourceId] = there.Id;
                    updated++;
                }
                else
                {
                    already++;
                    continue;
                }

                rows++;
            }

            foreach (string table in RunTables)
            {
                var copy = archive.Children[table].Where(r => runIds.ContainsKey(Convert.ToInt64(r["run_id"], CultureInfo.InvariantCulture))).ToList();
                if (copy.Count == 0)
                {
                    continue;
                }

                foreach (var r in copy)
                {
                    r["run_id"] = runIds[Convert.ToInt64(r["run_id"], CultureInfo.InvariantCulture)];
                }

                var columns = copy[0].Keys.ToList();
                foreach (var chunk in copy.Chunk(RowsPerStatement))
                {
                    rows += await connection.ExecuteAsync(C(InsertSql(table, columns, chunk.Length), Parameters(chunk, columns))).ConfigureAwait(false);
                }
            }

            return new SweepCopyResult(name, sweepId, copied, updated, already, unfinished, rows);
        }, cancellationToken);

    private static string InsertSql(string table, IEnumerable<string> columns, int rowCount)
    {
        var names = columns.ToList();
        var sql = new StringBuilder($"INSERT INTO {table} ({string.Join(", ", names)}) VALUES ");
        for (int r = 0; r < rowCount; r++)
        {
            sql.Append(r == 0 ? "(" : ", (");
            sql.AppendJoin(", ", names.Select((_, c) => string.Create(CultureInfo.InvariantCulture, $"@p{c}_{r}")));
            sql.Append(')');
        }

        return sql.ToString();
    }

    private static DynamicParameters Parameters(Dictionary<string, object?>[] rows, IEnumerable<string> columns)
    {
        var names = columns.ToList();
        var parameters = new DynamicParameters();
        for (int r = 0; r < rows.Length; r++)
        {
            for (int c = 0; c < names.Count; c++)
            {
                object? value = rows[r][names[c]];
                // Typed nulls: PostgreSQL must know a parameter's type even when its value is null.
                parameters.Add(string.Create(CultureInfo.InvariantCulture, $"p{c}_{r}"), value is DBNull ? null : value, value is null or DBNull ? DbType.String : null);
            }
        }

        return parameters;
    }

    private static List<Dictionary<string, object?>> Rows(IEnumerable<dynamic> rows) =>
        [.. rows.Select(r => new Dictionary<string, object?>((IDictionary<string, object?>)r, StringComparer.Ordinal))];

    private sealed record Archive(Dictionary<string, object?> Sweep, List<Dictionary<string, object?>> Runs, Dictionary<string, List<Dictionary<string, object?>>> Children);
}
