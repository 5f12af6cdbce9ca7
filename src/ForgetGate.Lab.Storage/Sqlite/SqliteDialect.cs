using System.Data.Common;
using System.Globalization;
using Dapper;
using Microsoft.Data.Sqlite;

namespace ForgetGate.Lab.Storage.Sqlite;

/// <summary>SQLite: one file, WAL, a busy timeout, writers serialised by <c>BEGIN IMMEDIATE</c>.</summary>
internal sealed class SqliteDialect : SqlDialect
{
    private const int SqliteReadOnly = 8;
    private const int SqliteIoError = 10;
    private const int SqliteFull = 13;
    private const int SqliteCantOpen = 14;

    private readonly string _connectionString;
    private readonly string _path;
    private readonly StoreOptions _options;

    public SqliteDialect(string path, StoreOptions options)
    {
        _path = Path.GetFullPath(path);
        _options = options;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = _path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = options.Pooling,
            DefaultTimeout = (int)Math.Ceiling(options.BusyTimeout.TotalSeconds),
        }.ToString();
    }

    public override string Provider => "sqlite";

    public override string Location => _path;

    // Millisecond ISO-8601 UTC text: sorts and compares as text, reads well in the sqlite3 shell.
    public override string Now => "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

    public override string ClaimLockClause => "";

    public override string NowPlusSeconds(string parameter) =>
        $"strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+' || {parameter} || ' seconds')";

    public override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);

            // busy_timeout: wait for the write lock instead of failing; synchronous = NORMAL is durable against
            // process crashes in WAL mode (only an OS crash may lose the last commits, never consistency).
            string pragmas = string.Create(CultureInfo.InvariantCulture, $"""
                PRAGMA busy_timeout = {(int)_options.BusyTimeout.TotalMilliseconds};
                PRAGMA foreign_keys = ON;
                PRAGMA synchronous = NORMAL;
                """);
            if (_options.MaxPageCount is { } pages)
            {
                pragmas += string.Create(CultureInfo.InvariantCulture, $"PRAGMA max_page_count = {pages};");
            }

            await connection.ExecuteAsync(new CommandDefinition(pragmas, cancellationToken: cancellationToken)).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public override DbTransaction BeginWrite(DbConnection connection) =>
        ((SqliteConnection)connection).BeginTransaction(deferred: false);

    // A deferred transaction in WAL mode reads one snapshot from its first SELECT and blocks no writer.
    public override DbTransaction BeginSnapshotRead(DbConnection connection) =>
        ((SqliteConnection)connection).BeginTransaction(deferred: true);

    // WAL is a property of the file; setting it again is a no-op. BEGIN IMMEDIATE (BeginWrite) then takes the
    // database's write lock, so when several processes open an empty file at once exactly one applies the scripts;
    // the others wait (busy_timeout), then find them applied.
    protected override Task PrepareMigrationAsync(DbConnection connection, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition("PRAGMA journal_mode = WAL;", cancellationToken: cancellationToken));

    protected override Task LockMigrationsAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        Task.CompletedTask;

    protected override string MigrationFolder => "Sqlite";

    // A connection opened while the file system was read-only stays read-only for its life (SQLite falls back
    // to O_RDONLY), so pooled connections must go once the store misbehaves.
    public override void ResetConnections()
    {
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
    }

    public override StoreFault? Classify(Exception exception) => exception switch
    {
        SqliteException { SqliteErrorCode: SqliteReadOnly } => StoreFault.ReadOnly,
        SqliteException { SqliteErrorCode: SqliteFull } => StoreFault.Full,
        SqliteException { SqliteErrorCode: SqliteCantOpen } => DirectoryIsWritable() ? StoreFault.Unavailable : StoreFault.ReadOnly,
        SqliteException { SqliteErrorCode: SqliteIoError } => DiskIsFull() ? StoreFault.Full : StoreFault.Unavailable,
        _ => null,
    };

    /// <summary>
    /// A full disk often surfaces as SQLITE_IOERR (the WAL index cannot grow) rather than SQLITE_FULL; the free
    /// space of the database's file system tells which, so the log says "full" when it is.
    /// </summary>
    private bool DiskIsFull()
    {
        try
        {
            return new DriveInfo(Path.GetDirectoryName(_path) ?? ".").AvailableFreeSpace < 256 * 1024;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return false;
        }
    }

    /// <summary>
    /// A WAL database on a read-only file system fails to open (SQLITE_CANTOPEN: no -shm file can be created)
    /// rather than with SQLITE_READONLY; probing the directory tells the two apart for the error message.
    /// </summary>
    private bool DirectoryIsWritable()
    {
        string directory = Path.GetDirectoryName(_path) ?? ".";
        try
        {
            using var probe = new FileStream(Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $".forgetgate-probe-{Environment.ProcessId}")), FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
