using System.Data.Common;
using System.Globalization;
using System.Reflection;
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

    public override async Task<int> MigrateAsync(CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // WAL is a property of the file; setting it again is a no-op.
            await connection.ExecuteAsync(new CommandDefinition("PRAGMA journal_mode = WAL;", cancellationToken: cancellationToken)).ConfigureAwait(false);

            // BEGIN IMMEDIATE takes the database's write lock, so when several processes open an empty file at
            // once exactly one applies the scripts; the others wait (busy_timeout), then find them applied.
            var transaction = BeginWrite(connection);
            await using (transaction.ConfigureAwait(false))
            {
                string ensure = """
                    CREATE TABLE IF NOT EXISTS schema_version (
                        version     INTEGER PRIMARY KEY,
                        name        TEXT NOT NULL,
                        applied_at  TEXT NOT NULL
                    );
                    """;
                await connection.ExecuteAsync(new CommandDefinition(ensure, transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                var applied = (await connection.QueryAsync<long>(new CommandDefinition("SELECT version FROM schema_version", transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false)).ToHashSet();

                int count = 0;
                foreach (var (version, name, script) in Scripts())
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
                    await connection.ExecuteAsync(new CommandDefinition(record, new { Version = version, Name = name }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                    count++;
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return count;
            }
        }
    }

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

    /// <summary>The embedded <c>Sqlite/Migrations/NNNN_name.sql</c> scripts in version order.</summary>
    internal static IEnumerable<(int Version, string Name, string Script)> Scripts()
    {
        var assembly = typeof(SqliteDialect).Assembly;
        const string prefix = "ForgetGate.Lab.Storage.Sqlite.Migrations.";
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
