using System.Data.Common;
using System.Globalization;
using Dapper;

namespace ForgetGate.Lab.Storage;

/// <summary>
/// Everything that differs between providers, in one place: connections, migrations, time expressions,
/// row locking in the claim sub-select and the classification of environmental errors.
/// Upserts (<c>ON CONFLICT … DO UPDATE SET x = excluded.x</c>) and <c>RETURNING</c> are spelled the same in
/// SQLite and PostgreSQL, so <see cref="RunStore"/> writes them once.
/// </summary>
internal abstract class SqlDialect
{
    /// <summary>Provider name as shown to users ("sqlite", "postgres").</summary>
    public abstract string Provider { get; }

    /// <summary>Display form of the database location (no password).</summary>
    public abstract string Location { get; }

    /// <summary>SQL expression for the current UTC time as stored in time columns.</summary>
    public abstract string Now { get; }

    /// <summary>SQL expression for now plus the number of seconds (a double) held by <paramref name="parameter"/>.</summary>
    public abstract string NowPlusSeconds(string parameter);

    /// <summary>Appended to the claim's candidate sub-select (PostgreSQL: <c>FOR UPDATE SKIP LOCKED</c>; SQLite: nothing, writers are serialised).</summary>
    public abstract string ClaimLockClause { get; }

    /// <summary>Whether data-modifying CTEs (<c>WITH x AS (UPDATE … RETURNING …) INSERT …</c>) are available (PostgreSQL), so multi-step writes can be one statement.</summary>
    public virtual bool WritableCtes => false;

    /// <summary>Opens a ready-to-use connection (pragmas/session settings applied).</summary>
    public abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>Starts a write transaction that takes the write lock at once (SQLite: <c>BEGIN IMMEDIATE</c>).</summary>
    public abstract DbTransaction BeginWrite(DbConnection connection);

    /// <summary>Starts a read transaction that sees one consistent snapshot for all its statements.</summary>
    public abstract DbTransaction BeginSnapshotRead(DbConnection connection);

    /// <summary>Drops pooled connections, so the next unit of work reopens the database (after a read-only or full episode).</summary>
    public abstract void ResetConnections();

    /// <summary>Classifies an error as an environmental fault (read-only, full, unavailable), or null for anything else.</summary>
    public abstract StoreFault? Classify(Exception exception);

    /// <summary>Folder of this provider's numbered scripts (<c>Sqlite</c> or <c>Postgres</c>, each with <c>Migrations/NNNN_name.sql</c>).</summary>
    protected abstract string MigrationFolder { get; }

    /// <summary>Connection-level preparation before the migration transaction (SQLite: WAL).</summary>
    protected abstract Task PrepareMigrationAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>Takes the cross-process migration lock inside <paramref name="transaction"/> (PostgreSQL: an advisory lock).</summary>
    protected abstract Task LockMigrationsAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken);

    /// <summary>
    /// Applies pending migrations in one transaction under a lock held across processes, so when several workers
    /// start on an empty database exactly one applies the scripts and the others find them applied; returns how many
    /// this call applied.
    /// </summary>
    public async Task<int> MigrateAsync(CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            await PrepareMigrationAsync(connection, cancellationToken).ConfigureAwait(false);
            var transaction = BeginWrite(connection);
            await using (transaction.ConfigureAwait(false))
            {
                await LockMigrationsAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
                string ensure = """
                    CREATE TABLE IF NOT EXISTS schema_version (
                        version     BIGINT PRIMARY KEY,
                        name        TEXT NOT NULL,
                        applied_at  TEXT NOT NULL
                    );
                    """;
                await connection.ExecuteAsync(new CommandDefinition(ensure, transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                var applied = (await connection.QueryAsync<long>(new CommandDefinition("SELECT version FROM schema_version", transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false)).ToHashSet();

                int count = 0;
                foreach (var (version, name, script) in Scripts(MigrationFolder))
                {
                    if (applied.Contains(version))
                    {
                        continue;
                    }

                    await connection.ExecuteAsync(new CommandDefinition(script, transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                    string record = $"""
                        INSERT INTO schema_version (version, name, applied_at)
                        VALUES (@Version, @Name, {Now})
                        """;
                    await connection.ExecuteAsync(new CommandDefinition(record, new { Version = (long)version, Name = name }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                    count++;
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return count;
            }
        }
    }

    /// <summary>The embedded <c>{folder}/Migrations/NNNN_name.sql</c> scripts in version order.</summary>
    internal static IEnumerable<(int Version, string Name, string Script)> Scripts(string folder)
    {
        var assembly = typeof(SqlDialect).Assembly;
        string prefix = $"ForgetGate.Lab.Storage.{folder}.Migrations.";
        foreach (string resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            string name = resource[prefix.Length..^".sql".Length];
            if (!int.TryParse(name.AsSpan(0, 4), NumberStyles.None, CultureInfo.InvariantCulture, out int version))
            {
                throw new InvalidOperationException($"Migration resource '{resource}' must start with a 4-digit version (e.g. 0002_add_x.sql).");
            }

            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            yield return (version, name, reader.ReadToEnd());
        }
    }
}
