using System.Diagnostics;
using ForgetGate.Lab.Reporting;

namespace ForgetGate.Lab.Reporting.Tests;

/// <summary>Opens the report in a real headless Chromium (Debian package 'chromium'; CI installs it).</summary>
public sealed class ChromiumTests
{
    private const string Chromium = "/usr/bin/chromium";

    private static (int Exit, string Stdout, string Stderr) RunChromium(string userData, params string[] args)
    {
        var psi = new ProcessStartInfo(Chromium) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", $"--user-data-dir={userData}" }.Concat(args))
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(90_000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException("Chromium did not finish within 90 s.");
        }

        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    [Fact]
    public void Report_RendersInHeadlessChromium_WithFiguresAndNoConsoleErrors()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: apt-get install chromium (the CI script installs it).");
        string dir = Directory.CreateTempSubdirectory("fg-chromium-").FullName;
        string html = ReportWriter.Write(SampleReport.Create(), Path.Combine(dir, "report"));
        string url = new Uri(html).AbsoluteUri;

        var dom = RunChromium(Path.Combine(dir, "profile-dom"), "--enable-logging=stderr", "--v=0", "--dump-dom", url);
        Assert.Equal(0, dom.Exit);
        int figures = dom.Stdout.Split("<svg", StringSplitOptions.None).Length - 1;
        Assert.Equal(ReportWriter.Render(SampleReport.Create()).Keys.Count(k => k.StartsWith("figures/", StringComparison.Ordinal)), figures);
        Assert.DoesNotContain("Uncaught", dom.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("CONSOLE(", dom.Stderr, StringComparison.Ordinal);

        string png = Path.Combine(AppContext.BaseDirectory, "report-screenshot.png");
        var shot = RunChromium(Path.Combine(dir, "profile-shot"), $"--screenshot={png}", "--window-size=1280,2400", url);
        Assert.Equal(0, shot.Exit);
        var bytes = File.ReadAllBytes(png);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
        // A blank 1280×2400 page compresses to a few KB; figures and tables make it far larger.
        Assert.True(bytes.Length > 60_000, $"screenshot is only {bytes.Length} bytes (kept at {png})");
        Directory.Delete(dir, recursive: true);
    }
}
