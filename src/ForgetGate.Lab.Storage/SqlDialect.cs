using System.Data.Common;

namespace ForgetGate.Lab.Storage;

/// <summary>
/// Everything that differs between providers, in one place: connections, migrations, time expressions,
/// row locking in the claim sub-select and the classification of environmental errors.
/// Upserts (<c>ON CONFLICT … DO UPDATE SET x = excluded.x</c>) and <c>RETURNING</c> are spelled the same in
/// SQLite and PostgreSQL, so <see cref="RunStore"/> writes them once.
/// </summary>
internal abstract class SqlDialect
{
    /// <summary>Display form of the database location.</summary>
    public abstract string Location { get; }

    /// <summary>SQL expression for the current UTC time as stored in time columns.</summary>
    public abstract string Now { get; }

    /// <summary>SQL expression for now plus the number of seconds (a double) held by <paramref name="parameter"/>.</summary>
    public abstract string NowPlusSeconds(string parameter);

    /// <summary>Appended to the claim's candidate sub-select (PostgreSQL: <c>FOR UPDATE SKIP LOCKED</c>; SQLite: nothing, writers are serialised).</summary>
    public abstract string ClaimLockClause { get; }

    /// <summary>Opens a ready-to-use connection (pragmas/session settings applied).</summary>
    public abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>Starts a write transaction that takes the write lock at once (SQLite: <c>BEGIN IMMEDIATE</c>).</summary>
    public abstract DbTransaction BeginWrite(DbConnection connection);

    /// <summary>Applies pending migrations under a lock held across processes; returns how many were applied.</summary>
    public abstract Task<int> MigrateAsync(CancellationToken cancellationToken);

    /// <summary>Drops pooled connections, so the next unit of work reopens the database (after a read-only or full episode).</summary>
    public abstract void ResetConnections();

    /// <summary>Classifies an error as an environmental fault (read-only, full, unavailable), or null for anything else.</summary>
    public abstract StoreFault? Classify(Exception exception);
}
