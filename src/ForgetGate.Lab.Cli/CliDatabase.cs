using System.Text.Json;
using ForgetGate.Lab.Cli.Errors;
using ForgetGate.Lab.Storage;
using Microsoft.Extensions.Configuration;

namespace ForgetGate.Lab.Cli;

/// <summary>One way to name the database for every command: --db, else FORGETGATE_DB, else appsettings.json's "Database", else results/forgetgate.db.</summary>
internal static class CliDatabase
{
    /// <summary>The <c>--db</c> option every store command shares.</summary>
    public static System.CommandLine.Option<string?> CreateOption() => new("--db")
    {
        Description = "Store: a SQLite file path, or postgres://user@host:port/database (password from PGPASSWORD or ~/.pgpass) "
            + $"for a server many machines share. Default: $FORGETGATE_DB, else appsettings.json 'Database', else {RunStores.DefaultDatabase}.",
    };

    public static string Resolve(string? explicitPath)
    {
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            return explicitPath;
        }

        if (Environment.GetEnvironmentVariable("FORGETGATE_DB") is { Length: > 0 } env)
        {
            return env;
        }

        string settings = Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json");
        if (File.Exists(settings))
        {
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(settings));
                if (doc.RootElement.TryGetProperty("Database", out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } fromFile)
                {
                    return fromFile;
                }
            }
            catch (JsonException e)
            {
                throw new CliException(ExitCodes.BadInput, $"{settings}: not valid JSON ({e.Message.TrimEnd('.')}).", e);
            }
        }

        return RunStores.DefaultDatabase;
    }

    /// <summary>
    /// Opens the store <paramref name="database"/> names, with the same <c>Store</c> settings the worker reads
    /// (<c>appsettings.json</c>, or environment variables such as <c>Store__BusyTimeout=00:00:05</c>).
    /// A --db that cannot name a store is bad input.
    /// </summary>
    public static IRunStore Open(string database)
    {
        CheckFile(database);
        try
        {
            return RunStores.Open(database, StoreOptions());
        }
        catch (Exception e) when (e is ArgumentException or DirectoryNotFoundException or NotSupportedException)
        {
            throw new CliException(ExitCodes.BadInput, e.Message, e);
        }
    }

    /// <summary>
    /// A SQLite --db that exists must start with SQLite's header: a file that is not a database (a wrong path, a
    /// truncated copy, another format) is named as such before any command, including the worker, tries to use it.
    /// </summary>
    public static void CheckFile(string database)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(database);
        if (RunStores.IsPostgres(database) || !File.Exists(database))
        {
            return;
        }

        Span<byte> header = stackalloc byte[16];
        int read;
        try
        {
            using var file = new FileStream(database, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            read = file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.Unavailable, $"the store {Path.GetFullPath(database)} cannot be read: {e.Message.TrimEnd('.')}.", e);
        }

        // An empty file is a new database to SQLite; anything else must carry the 16-byte magic string.
        if (read > 0 && !header[..read].SequenceEqual("SQLite format 3\0"u8))
        {
            throw new CliException(ExitCodes.Unavailable, $"the store {Path.GetFullPath(database)} cannot be used: the file is not a SQLite database (it does not start with the SQLite header).");
        }
    }

    /// <summary>
    /// Opens a store a command only reads: a SQLite file must already exist (opening would create an empty one, and
    /// the command would then fail on a missing table instead of saying what is wrong).
    /// </summary>
    public static IRunStore OpenExisting(string database)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(database);
        if (!RunStores.IsPostgres(database) && !File.Exists(database))
        {
            throw new CliException(ExitCodes.BadInput, $"database '{Path.GetFullPath(database)}' does not exist; queue a sweep first, or name the store with --db or FORGETGATE_DB.");
        }

        return Open(database);
    }

    /// <summary>The <c>Store</c> configuration section, as <see cref="Worker.WorkerHost"/> binds it.</summary>
    public static StoreOptions StoreOptions()
    {
        try
        {
            var configuration = new ConfigurationBuilder()
                .SetBasePath(Directory.GetCurrentDirectory())
                .AddJsonFile("appsettings.json", optional: true)
                .AddEnvironmentVariables()
                .Build();
            return configuration.GetSection("Store").Get<StoreOptions>() ?? new StoreOptions();
        }
        catch (Exception e) when (e is InvalidDataException or InvalidOperationException or FormatException)
        {
            throw new CliException(ExitCodes.BadInput, $"Store settings (appsettings.json 'Store', Store__* environment variables): {e.Message.TrimEnd('.')}.", e);
        }
    }
}
