using System.CommandLine;
using System.Globalization;
using System.Net;
using ForgetGate.Lab.Cli.Errors;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ForgetGate.Lab.Cli.Serve;

/// <summary>
/// <c>forgetgate serve</c>: a read-only web view of the store (DESIGN.md §12). Loopback by default; any other address
/// needs <c>--token</c>, because the dashboard shows every sweep's configs and results to whoever can reach it.
/// </summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var db = CliDatabase.CreateOption();
        var host = new Option<string>("--host") { Description = "Address to listen on (an IP address or 'localhost'). Anything but loopback needs --token.", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "Port (0: any free port, printed at start).", DefaultValueFactory = _ => 5057 };
        var token = new Option<string?>("--token") { Description = "Require this token on every request: header 'Authorization: Bearer T', or ?token=T once (a cookie keeps it for the browser)." };
        var command = new Command("serve", "Serve a live, read-only dashboard of the store: sweeps with progress, each sweep's report, runs, comparisons.\nExample: forgetgate serve --db results/forgetgate.db   (then open http://127.0.0.1:5057/)")
        {
            db, host, port, token,
        };
        command.SetAction(async (parse, ct) =>
        {
            string hostName = parse.GetValue(host)!;
            int portNumber = parse.GetValue(port);
            string? secret = parse.GetValue(token);
            var address = ParseAddress(hostName);
            if (portNumber is < 0 or > 65535)
            {
                throw new CliException(ExitCodes.BadInput, string.Create(CultureInfo.InvariantCulture, $"--port {portNumber} is not a port; expected 0-65535 (0: any free port)."));
            }

            if (secret is { Length: 0 })
            {
                throw new CliException(ExitCodes.BadInput, "--token is empty; give a token of at least 16 characters, or leave --token out on a loopback address.");
            }

            if (secret is { Length: < 16 })
            {
                throw new CliException(ExitCodes.BadInput, "--token is shorter than 16 characters: too easy to guess; e.g. use: openssl rand -hex 16");
            }

            if (!IPAddress.IsLoopback(address) && secret is null)
            {
                throw new CliException(ExitCodes.BadInput,
                    $"refusing to listen on {hostName} without --token: anyone who can reach that address could read every sweep, config and result in the store. Pass --token T (at least 16 characters; browsers open http://{hostName}:{portNumber}/?token=T once), or listen on 127.0.0.1 and reach it through an SSH tunnel.");
            }

            string database = CliDatabase.Resolve(parse.GetValue(db));
            var store = CliDatabase.OpenExisting(database);
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "forgetgate", ContentRootPath = AppContext.BaseDirectory });
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(address, portNumber));
            builder.Services.AddRouting();
            // Ctrl-C is the command's (System.CommandLine cancels ct); the host must not install its own console handler.
            builder.Services.AddSingleton<IHostLifetime, CommandLifetime>();
            await using var app = builder.Build();
            Dashboard.Map(app, store, secret);
            await app.StartAsync(ct).ConfigureAwait(false);
            string url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            Console.WriteLine($"serving {store.Location} read-only at {url}/{(secret is null ? "" : " (every request needs the token)")}; Ctrl-C stops");
            try
            {
                await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            Console.WriteLine("stopped");
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>An IP address, or <c>localhost</c> as the IPv4 loopback; host names are refused (say which address to bind).</summary>
    private static IPAddress ParseAddress(string host)
    {
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return IPAddress.Loopback;
        }

        return IPAddress.TryParse(host.Trim('[', ']'), out var address)
            ? address
            : throw new CliException(ExitCodes.BadInput, $"--host '{host}' is not an IP address; expected e.g. 127.0.0.1 (the default), ::1, or 0.0.0.0 (every interface, needs --token).");
    }

    /// <summary>A host lifetime that leaves Ctrl-C and SIGTERM to the command.</summary>
    private sealed class CommandLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
