using System.Data.Common;
using System.Globalization;
using System.Net.Sockets;
using Dapper;
using Npgsql;

namespace ForgetGate.Lab.Storage.Postgres;

/// <summary>
/// PostgreSQL: one server that workers on many machines share. Writers run concurrently (read committed); the claim
/// skips rows other claimers hold (<c>FOR UPDATE SKIP LOCKED</c>); migrations run under a transaction-scoped
/// advisory lock; connections come from one pooled <see cref="NpgsqlDataSource"/> per store.
/// </summary>
internal sealed class PostgresDialect : SqlDialect, IDisposable
{
    // Any constant shared by every ForgetGate.Lab process: the advisory lock that serialises migrations.
    private const long MigrationLockKey = 0x466F726765744761; // "ForgetGa"

    // Same text as SQLite's strftime('%Y-%m-%dT%H:%M:%fZ'): millisecond ISO-8601 UTC, so times compare as text in
    // both stores and copy between them unchanged. statement_timestamp() matches SQLite's per-statement 'now'.
    private const string TimeFormat = "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'";

    private readonly NpgsqlDataSource _dataSource;

    public PostgresDialect(PostgresConnection connection, StoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(options);
        var builder = new NpgsqlConnectionStringBuilder(connection.ConnectionString)
        {
            Pooling = options.Pooling,
            CommandTimeout = Math.Max(1, (int)Math.Ceiling(options.BusyTimeout.TotalSeconds)),
        };
        if (!connection.ConnectionString.Contains("Timeout", StringComparison.OrdinalIgnoreCase))
        {
            builder.Timeout = 10; // seconds to establish a connection: a dead server is reported quickly
        }

        // The queue runs the same dozen statements over and over: let Npgsql prepare them on the server once per
        // connection (saves parse and plan on every claim), and skip the DISCARD ALL on return to the pool (the store
        // keeps no session state outside its transactions).
        if (builder.MaxAutoPrepare == 0)
        {
            builder.MaxAutoPrepare = 64;
            builder.AutoPrepareMinUsages = 2;
        }

        builder.NoResetOnClose = true;

        if (string.IsNullOrEmpty(builder.ApplicationName))
        {
            builder.ApplicationName = "forgetgate";
        }

        _dataSource = NpgsqlDataSource.Create(builder);
        Location = connection.Display;
    }

    public override string Provider => "postgres";

    public override string Location { get; }

    public override string Now => $"to_char(statement_timestamp() AT TIME ZONE 'UTC', {TimeFormat})";

    public override string ClaimLockClause => "FOR UPDATE SKIP LOCKED";

    public override bool WritableCtes => true;

    protected override string MigrationFolder => "Postgres";

    public override string NowPlusSeconds(string parameter) =>
        $"to_char((statement_timestamp() + {parameter} * INTERVAL '1 second') AT TIME ZONE 'UTC', {TimeFormat})";

    public override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    // Read committed: each statement sees the latest committed rows; the claim's row lock and the fences' WHERE
    // clauses (re-checked on the newest row version) make the queue correct without serialising writers.
    public override DbTransaction BeginWrite(DbConnection connection) =>
        ((NpgsqlConnection)connection).BeginTransaction();

    public override DbTransaction BeginSnapshotRead(DbConnection connection) =>
        ((NpgsqlConnection)connection).BeginTransaction(System.Data.IsolationLevel.RepeatableRead);

    protected override Task PrepareMigrationAsync(DbConnection connection, CancellationToken cancellationToken) =>
        Task.CompletedTask;

    // DDL is transactional in PostgreSQL, and the advisory lock is released at commit or rollback: a worker killed
    // mid-migration leaves nothing half-applied and blocks no one.
    protected override Task LockMigrationsAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_xact_lock(@Key)", new { Key = MigrationLockKey }, transaction, cancellationToken: cancellationToken));

    public override void ResetConnections() => _dataSource.Clear();

    public override StoreFault? Classify(Exception exception) => exception switch
    {
        PostgresException { SqlState: PostgresErrorCodes.ReadOnlySqlTransaction } => StoreFault.ReadOnly,
        PostgresException { SqlState: PostgresErrorCodes.DiskFull or PostgresErrorCodes.InsufficientResources or PostgresErrorCodes.OutOfMemory } => StoreFault.Full,
        PostgresException e when IsUnavailable(e.SqlState) => StoreFault.Unavailable,
        PostgresException => null,
        NpgsqlException { IsTransient: true } => StoreFault.Unavailable,
        NpgsqlException { InnerException: SocketException or IOException or TimeoutException } => StoreFault.Unavailable,
        SocketException => StoreFault.Unavailable,
        _ => null,
    };

    public void Dispose() => _dataSource.Dispose();

    /// <summary>Connection exceptions (08…), the server shutting down or starting (57P01–57P03), too many connections.</summary>
    private static bool IsUnavailable(string sqlState) =>
        sqlState.StartsWith("08", StringComparison.Ordinal)
        || sqlState is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow
            or PostgresErrorCodes.TooManyConnections or PostgresErrorCodes.IdleSessionTimeout;

    internal static string Describe(NpgsqlConnectionStringBuilder builder) =>
        string.Create(CultureInfo.InvariantCulture, $"postgres://{(string.IsNullOrEmpty(builder.Username) ? "" : builder.Username + "@")}{builder.Host}:{builder.Port}/{builder.Database}");
}
