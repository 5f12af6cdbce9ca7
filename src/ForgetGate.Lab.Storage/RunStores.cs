using ForgetGate.Lab.Storage.Sqlite;

namespace ForgetGate.Lab.Storage;

/// <summary>Opens a store from the <c>--db</c> value: a file path (SQLite) today; <c>postgres://…</c> in the PostgreSQL issue.</summary>
public static class RunStores
{
    /// <summary>The default database path used when no <c>--db</c> is given.</summary>
    public const string DefaultDatabase = "results/forgetgate.db";

    /// <summary>Creates the store for <paramref name="database"/> (no I/O until the first call).</summary>
    public static IRunStore Open(string database, StoreOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(database);
        if (database.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || database.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase) || database.Contains("Host=", StringComparison.OrdinalIgnoreCase))
        {
            throw new NotSupportedException($"--db '{database}': the PostgreSQL provider is not built yet (issue 7); give a SQLite file path.");
        }

        string? directory = Path.GetDirectoryName(Path.GetFullPath(database));
        if (directory is not null && !Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"--db '{database}': directory '{directory}' does not exist.");
        }

        return new RunStore(new SqliteDialect(database, options ?? new StoreOptions()));
    }
}
