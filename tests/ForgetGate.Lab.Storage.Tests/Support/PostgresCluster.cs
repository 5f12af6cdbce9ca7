using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace ForgetGate.Lab.Storage.Tests.Support;

/// <summary>
/// A throwaway PostgreSQL cluster (the Debian <c>postgresql</c> package's binaries): <c>initdb</c> into a temporary
/// directory, a server on a free loopback port with its socket in that directory, trust authentication for one
/// superuser; stopped and deleted on <see cref="Dispose"/> (the shared one at process exit). As root, the server runs
/// as the <c>postgres</c> system user, because PostgreSQL refuses to run as root.
/// </summary>
public sealed class PostgresCluster : IDisposable
{
    public const string User = "forgetgate";

    private static readonly Lazy<PostgresCluster> s_shared = new(() =>
    {
        var cluster = Start(durable: false);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => cluster.Dispose();
        return cluster;
    });

    private static int s_databases;
    private readonly string _bin;
    private readonly bool _asPostgresUser;
    private bool _disposed;

    private PostgresCluster(string bin, string directory, int port, bool asPostgresUser)
    {
        _bin = bin;
        Directory = directory;
        Port = port;
        _asPostgresUser = asPostgresUser;
    }

    /// <summary>The cluster most tests share (each test gets its own database in it).</summary>
    public static PostgresCluster Shared => s_shared.Value;

    public string Directory { get; }

    public string DataDirectory => Path.Combine(Directory, "data");

    public int Port { get; }

    public string LogPath => Path.Combine(Directory, "server.log");

    /// <summary>The server version, e.g. "15.14".</summary>
    public string Version { get; private set; } = "";

    /// <summary>Starts a new cluster. <paramref name="durable"/> = false turns fsync off (tests); true keeps PostgreSQL's defaults (benchmarks).</summary>
    public static PostgresCluster Start(bool durable)
    {
        string bin = FindBinaries();
        string directory = Path.Combine(Path.GetTempPath(), string.Create(CultureInfo.InvariantCulture, $"fg-pg-{Environment.ProcessId}-{Guid.NewGuid():N}"));
        System.IO.Directory.CreateDirectory(directory);
        bool asPostgresUser = Environment.UserName == "root";
        var cluster = new PostgresCluster(bin, directory, FreePort(), asPostgresUser);
        try
        {
            if (asPostgresUser)
            {
                Run("chown", ["-R", "postgres:postgres", directory]);
            }

            cluster.RunTool("initdb", ["-D", cluster.DataDirectory, "-U", User, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
            string options = string.Create(CultureInfo.InvariantCulture,
                $"-p {cluster.Port} -k {directory} -c listen_addresses=127.0.0.1 -c max_connections=400 -c shared_buffers=64MB{(durable ? "" : " -c fsync=off -c synchronous_commit=off -c full_page_writes=off")}");
            cluster.RunTool("pg_ctl", ["-D", cluster.DataDirectory, "-l", cluster.LogPath, "-w", "-t", "60", "-o", options, "start"]);
            cluster.Version = cluster.AdminScalar<string>("SHOW server_version");
            return cluster;
        }
        catch
        {
            cluster.Dispose();
            throw;
        }
    }

    /// <summary>The admin URL of database <paramref name="database"/> (trust auth: no password).</summary>
    public string Url(string database) => string.Create(CultureInfo.InvariantCulture, $"postgres://{User}@127.0.0.1:{Port}/{database}");

    /// <summary>Creates an empty database with a unique name; returns its name.</summary>
    public string CreateDatabase(string prefix = "fg")
    {
        string name = string.Create(CultureInfo.InvariantCulture, $"{prefix}_{Environment.ProcessId}_{Interlocked.Increment(ref s_databases)}");
        AdminExecute($"CREATE DATABASE \"{name}\"");
        return name;
    }

    /// <summary>Drops a database, disconnecting whoever is still connected.</summary>
    public void DropDatabase(string name)
    {
        if (!_disposed)
        {
            AdminExecute($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
        }
    }

    /// <summary>Stops the server (fast shutdown: open sessions are terminated), as when a database machine goes away.</summary>
    public void Stop() => RunTool("pg_ctl", ["-D", DataDirectory, "-m", "fast", "-w", "stop"]);

    /// <summary>Starts the stopped server again on the same port.</summary>
    public void Restart()
    {
        string options = string.Create(CultureInfo.InvariantCulture, $"-p {Port} -k {Directory} -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off");
        RunTool("pg_ctl", ["-D", DataDirectory, "-l", LogPath, "-w", "-t", "60", "-o", options, "start"]);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            if (File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
            {
                RunTool("pg_ctl", ["-D", DataDirectory, "-m", "immediate", "-w", "stop"]);
            }
        }
        catch (InvalidOperationException)
        {
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private void AdminExecute(string sql)
    {
        using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = Port, Username = User, Database = "postgres", Pooling = false }.ConnectionString);
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }

    private T AdminScalar<T>(string sql)
    {
        using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = Port, Username = User, Database = "postgres", Pooling = false }.ConnectionString);
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        return (T)command.ExecuteScalar()!;
    }

    private void RunTool(string tool, string[] arguments)
    {
        string path = Path.Combine(_bin, tool);
        if (_asPostgresUser)
        {
            Run("runuser", ["-u", "postgres", "--", path, .. arguments]);
        }
        else
        {
            Run(path, arguments);
        }
    }

    private static void Run(string file, string[] arguments)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {file}.");
        // Read both streams to the end before waiting; pg_ctl start keeps no handle on them (the server logs to -l).
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(120_000))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} did not finish within 120 s.");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"{file} {string.Join(' ', arguments)} exited with {process.ExitCode}: {stderr.Result}{stdout.Result}"));
        }
    }

    /// <summary>FORGETGATE_PG_BIN, else the newest /usr/lib/postgresql/N/bin with initdb; a clear failure otherwise.</summary>
    private static string FindBinaries()
    {
        if (Environment.GetEnvironmentVariable("FORGETGATE_PG_BIN") is { Length: > 0 } bin)
        {
            return bin;
        }

        const string root = "/usr/lib/postgresql";
        string? found = System.IO.Directory.Exists(root)
            ? System.IO.Directory.GetDirectories(root)
                .Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "initdb")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : 0)
                .FirstOrDefault()
            : null;
        return found ?? throw new InvalidOperationException(
            "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (install them with 'apt-get install -y postgresql', as .ci/run does, or set FORGETGATE_PG_BIN).");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
