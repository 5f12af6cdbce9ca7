using System.Diagnostics;
using System.Text.RegularExpressions;

namespace ForgetGate.Lab.Cli.Tests.Support;

/// <summary>A real <c>forgetgate serve</c> process on a free loopback port.</summary>
internal sealed partial class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Task<string> _stdout;

    private ServerProcess(Process process, Uri url, Task<string> stdout)
    {
        _process = process;
        Url = url;
        _stdout = stdout;
    }

    public Uri Url { get; }

    public int Id => _process.Id;

    public static async Task<ServerProcess> StartAsync(string db, params string[] extra)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "forgetgate.dll"));
        foreach (var a in new[] { "serve", "--db", db, "--port", "0" }.Concat(extra))
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment.Remove("FORGETGATE_DB");
        var process = Process.Start(psi)!;
        _ = process.StandardError.ReadToEndAsync();
        string first = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)) ?? "";
        var match = Listening().Match(first);
        Assert.True(match.Success, $"serve printed '{first}'");
        return new ServerProcess(process, new Uri(match.Groups[1].Value), process.StandardOutput.ReadToEndAsync());
    }

    /// <summary>Sends SIGINT (Ctrl-C) and waits for the exit; returns the exit code and what it printed after starting.</summary>
    public async Task<(int Code, string Out)> InterruptAsync()
    {
        using (var kill = Process.Start("kill", ["-INT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return (_process.ExitCode, await _stdout);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    [GeneratedRegex(@"read-only at (http://\S+?)/?[ ;]")]
    private static partial Regex Listening();
}
