using System.Diagnostics;

namespace ForgetGate.Lab.Cli.Tests.Support;

/// <summary>The real <c>forgetgate</c> process (the CLI built beside the tests), run in a working directory with extra environment variables.</summary>
internal static class CliProcess
{
    public sealed record Result(int Code, string Out, string Err)
    {
        /// <summary>Stderr's lines, without the empty last one.</summary>
        public string[] ErrLines => Err.TrimEnd('\n', '\r').Split('\n');

        public override string ToString() => $"exit {Code}\nstdout:\n{Out}\nstderr:\n{Err}";
    }

    public static Result Run(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "forgetgate.dll"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment.Remove("FORGETGATE_DB");
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[key] = value;
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(180_000))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"forgetgate {string.Join(' ', args)} did not finish in 180 s");
        }

        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }
}
