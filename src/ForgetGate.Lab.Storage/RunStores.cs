using ForgetGate.Lab.Storage.Postgres;
using ForgetGate.Lab.Storage.Sqlite;

namespace ForgetGate.Lab.Storage;

/// <summary>Opens a store from the <c>--db</c> value: a file path (SQLite), or <c>postgres://…</c> / an Npgsql connection string (PostgreSQL).</summary>
public static class RunStores
{
    /// <summary>The default database path used when no <c>--db</c> is given.</summary>
    public const string DefaultDatabase = "results/forgetgate.db";

    /// <summary>Whether <paramref name="database"/> names a PostgreSQL server rather than a SQLite file.</summary>
    public static bool IsPostgres(string database) => PostgresConnection.IsPostgres(database);

    /// <summary>
    /// The local folder where results for this database go by default (reports, checkpoints): the SQLite file's
    /// folder, or <c>results/</c> under the working directory for a server store.
    /// </summary>
    public static string LocalDirectory(string database)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(database);
        return IsPostgres(database)
            ? Path.GetFullPath("results")
            : Path.GetDirectoryName(Path.GetFullPath(database)) ?? Path.GetFullPath(".");
    }

    /// <summary>A display form of the database with any password masked.</summary>
    public static string Describe(string database) =>
        IsPostgres(database) ? PostgresConnection.Parse(database).Display : Path.GetFullPath(database);

    /// <summary>Creates the store for <paramref name="database"/> (no I/O until the first call).</summary>
    public static IRunStore Open(string database, StoreOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(database);
        if (IsPostgres(database))
        {
            return new RunStore(new PostgresDialect(PostgresConnection.Parse(database), options ?? new StoreOptions()));
        }

        string? directory = Path.GetDirectoryName(Path.GetFullPath(database));
        if (directory is not null && !Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"--db '{database}': directory '{directory}' does not exist.");
        }

        return new RunStore(new SqliteDialect(database, options ?? new StoreOptions()));
    }
}
