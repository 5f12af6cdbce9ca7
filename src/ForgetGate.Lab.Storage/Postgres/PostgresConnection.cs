using System.Globalization;
using Npgsql;

namespace ForgetGate.Lab.Storage.Postgres;

/// <summary>
/// A PostgreSQL <c>--db</c> value: a URL <c>postgres://user[:password]@host[:port]/database[?sslmode=require&amp;…]</c>
/// or an Npgsql keyword string (<c>Host=…;Database=…;Username=…</c>). Without a password in the value, Npgsql
/// takes it from <c>PGPASSWORD</c> or <c>~/.pgpass</c>, which keeps it out of shell history and process lists.
/// </summary>
public sealed class PostgresConnection
{
    private PostgresConnection(string connectionString, string display)
    {
        ConnectionString = connectionString;
        Display = display;
    }

    /// <summary>The Npgsql connection string (may contain the password: never print it).</summary>
    public string ConnectionString { get; }

    /// <summary><c>postgres://user@host:port/database</c>, without the password.</summary>
    public string Display { get; }

    /// <summary>Whether <paramref name="database"/> names a PostgreSQL store rather than a SQLite file.</summary>
    public static bool IsPostgres(string database) =>
        database.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase)
        || database.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase)
        || database.Contains("Host=", StringComparison.OrdinalIgnoreCase);

    /// <summary>Parses a URL or keyword string; the error names the value (password masked) and what was expected.</summary>
    public static PostgresConnection Parse(string database)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(database);
        NpgsqlConnectionStringBuilder builder;
        if (database.Contains("://", StringComparison.Ordinal))
        {
            builder = FromUrl(database);
        }
        else
        {
            try
            {
                builder = new NpgsqlConnectionStringBuilder(database);
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"--db: not a valid PostgreSQL connection string ({e.Message}); expected e.g. 'Host=db.lab;Port=5432;Database=forgetgate;Username=lab'.", e);
            }
        }

        if (string.IsNullOrWhiteSpace(builder.Host))
        {
            throw new ArgumentException($"--db '{Mask(database)}': no host; expected postgres://user@host:5432/database.");
        }

        if (string.IsNullOrWhiteSpace(builder.Database))
        {
            throw new ArgumentException($"--db '{Mask(database)}': no database name; expected postgres://user@host:5432/database.");
        }

        return new PostgresConnection(builder.ConnectionString, PostgresDialect.Describe(builder));
    }

    private static NpgsqlConnectionStringBuilder FromUrl(string url)
    {
        string expected = "expected postgres://user[:password]@host[:port]/database[?sslmode=require]";
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("postgres" or "postgresql"))
        {
            throw new ArgumentException($"--db '{Mask(url)}': not a PostgreSQL URL; {expected}.");
        }

        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host,
            Port = uri.IsDefaultPort || uri.Port < 0 ? 5432 : uri.Port,
            Database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/')),
        };
        if (uri.UserInfo.Length > 0)
        {
            string[] parts = uri.UserInfo.Split(':', 2);
            builder.Username = Uri.UnescapeDataString(parts[0]);
            if (parts.Length == 2)
            {
                builder.Password = Uri.UnescapeDataString(parts[1]);
            }
        }

        foreach (string pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] kv = pair.Split('=', 2);
            string key = Uri.UnescapeDataString(kv[0]);
            string value = kv.Length == 2 ? Uri.UnescapeDataString(kv[1]) : "";
            try
            {
                // libpq's URL parameter names where they differ from Npgsql's keywords.
                builder[key.ToLowerInvariant() switch
                {
                    "sslmode" => "SSL Mode",
                    "application_name" => "Application Name",
                    "connect_timeout" => "Timeout",
                    _ => key,
                }] = value;
            }
            catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException)
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"--db '{Mask(url)}': URL parameter '{key}={value}' is not understood ({e.Message})."), e);
            }
        }

        return builder;
    }

    /// <summary>The value with any password replaced by ***, for error messages.</summary>
    internal static string Mask(string database)
    {
        if (database.Contains("://", StringComparison.Ordinal) && Uri.TryCreate(database, UriKind.Absolute, out var uri) && uri.UserInfo.Contains(':', StringComparison.Ordinal))
        {
            return database.Replace(uri.UserInfo, uri.UserInfo.Split(':')[0] + ":***", StringComparison.Ordinal);
        }

        try
        {
            var builder = new NpgsqlConnectionStringBuilder(database);
            if (!string.IsNullOrEmpty(builder.Password))
            {
                builder.Password = "***";
                return builder.ConnectionString;
            }
        }
        catch (ArgumentException)
        {
        }

        return database;
    }
}
