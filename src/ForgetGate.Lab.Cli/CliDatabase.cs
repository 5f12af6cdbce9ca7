using System.Text.Json;
using ForgetGate.Lab.Storage;

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
                throw new InvalidOperationException($"{settings}: not valid JSON ({e.Message}).", e);
            }
        }

        return RunStores.DefaultDatabase;
    }
}
