using System.Net;
using System.Net.Http.Headers;
using ForgetGate.Lab.Cli.Tests.Support;
using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Storage;

namespace ForgetGate.Lab.Cli.Tests.Serve;

/// <summary>
/// <c>forgetgate serve</c> as a person meets it: a real server process on a loopback port over a real SQLite store
/// (a sweep trained on real Fashion-MNIST, another one queued), looked at in a real headless Chromium through the
/// DevTools protocol.
/// </summary>
public sealed class DashboardTests : IDisposable
{
    private const string Token = "0123456789abcdef0123";
    private readonly string _dir = Directory.CreateTempSubdirectory("fg-serve-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Spec(string name, string variants)
    {
        string path = Path.Combine(_dir, name + ".yaml");
        File.WriteAllText(path, $"""
            name: {name}
            scenario:
              kind: permuted
              tasks: 2
              train_per_task: 200
              test_per_task: 100
            model:
              variant: [{variants}]
              hidden: 8
            training:
              batch_size: 50
            """);
        return path;
    }

    /// <summary>A store with sweep 'tiny' trained (2 runs) and sweep 'live' queued (1 run).</summary>
    private string Store()
    {
        string db = Path.Combine(_dir, "fg.db");
        var run = CliProcess.Run(_dir, null, "run", Spec("tiny", "lstm, ur-lstm"), "--db", db);
        Assert.True(run.Code == 0, run.ToString());
        var queue = CliProcess.Run(_dir, null, "queue", Spec("live", "gru"), "--db", db);
        Assert.True(queue.Code == 0, queue.ToString());
        return db;
    }

    [Fact]
    public async Task Serve_RealStore_PagesFiguresAndLiveProgressInChromiumWithoutConsoleErrors()
    {
        string db = Store();
        await using var server = await ServerProcess.StartAsync(db);
        await using var browser = await HeadlessChromium.StartAsync();
        string Url(string path) => new Uri(server.Url, path).AbsoluteUri;

        // Home: both sweeps with their counts.
        await browser.NavigateAsync(Url("/"));
        Assert.Equal("tiny,live", string.Join(',', (await browser.EvaluateAsync("[...document.querySelectorAll('#sweeps tr[data-sweep]')].map(r => r.dataset.sweep).reverse().join(',')"))!.GetValue<string>().Split(',')));
        Assert.Contains("tiny\u00a0#1\t2\t0\t0\t2\t0\t0", (await browser.EvaluateAsync("document.querySelector('#sweeps').innerText"))!.GetValue<string>().Replace(" #", "\u00a0#", StringComparison.Ordinal), StringComparison.Ordinal);

        // The sweep page: the report's figures, rendered from the store, the gates through time among them.
        await browser.NavigateAsync(Url("/sweeps/tiny"));
        int figures = (await browser.EvaluateAsync("document.querySelectorAll('main figure svg').length"))!.GetValue<int>();
        Assert.True(figures >= 10, $"{figures} figures");
        Assert.Equal(2, (await browser.EvaluateAsync("[...document.querySelectorAll('main svg title')].filter(t => t.textContent.includes('mean forget gate per time step after each task')).length"))!.GetValue<int>());
        Assert.True((await browser.EvaluateAsync("[...document.querySelectorAll('main svg image')].every(i => i.getBBox().width > 100)"))!.GetValue<bool>());
        File.WriteAllBytes(Path.Combine(AppContext.BaseDirectory, "dashboard-sweep.png"), await browser.ScreenshotAsync());

        // A run: attempts, curves, provenance.
        await browser.NavigateAsync(Url("/runs/1"));
        Assert.Equal(1, (await browser.EvaluateAsync("document.querySelectorAll('#attempts tr').length - 1"))!.GetValue<int>());
        Assert.True((await browser.EvaluateAsync("document.querySelectorAll('main svg').length"))!.GetValue<int>() >= 3);
        Assert.Contains("config SHA-256", (await browser.EvaluateAsync("document.body.innerText"))!.GetValue<string>(), StringComparison.Ordinal);

        // Two sweeps compared.
        await browser.NavigateAsync(Url("/compare?a=tiny&b=tiny"));
        Assert.Contains("ACC", (await browser.EvaluateAsync("document.getElementById('comparison').innerText"))!.GetValue<string>(), StringComparison.Ordinal);

        // Live: a worker claims the queued run and reports progress and a first evaluation; the open page shows both
        // without being reloaded (a value set on the page's window survives).
        await browser.NavigateAsync(Url("/sweeps/live"));
        await browser.EvaluateAsync("window.__notReloaded = 42");
        Assert.Contains("No results yet", (await browser.EvaluateAsync("document.body.innerText"))!.GetValue<string>(), StringComparison.Ordinal);
        var store = RunStores.Open(db);
        var sweep = await store.FindSweepAsync("live", CancellationToken.None);
        var claimed = await store.ClaimAsync(new ClaimRequest("test-worker", TimeSpan.FromMinutes(5), SweepId: sweep!.Id), CancellationToken.None);
        var sink = store.OpenSink(claimed!);
        await sink.ReportProgressAsync(0.5, "task 1/2 epoch 1/1 halfway there", CancellationToken.None);
        await sink.WriteEvaluationsAsync([new EvaluationRow(0, 0, 0, "accuracy", 0.1), new EvaluationRow(0, 0, 1, "accuracy", 0.12)], CancellationToken.None);
        Assert.True(await browser.WaitForAsync("document.getElementById('runs').innerText.includes('halfway there') && document.getElementById('runs').innerText.includes('50 %')", TimeSpan.FromSeconds(20)), "progress never appeared");
        if (!await browser.WaitForAsync("document.querySelector('main h1')?.textContent === 'live' && document.body.innerText.includes('Comparison')", TimeSpan.FromSeconds(20)))
        {
            using var http = new HttpClient();
            var fragment = await http.GetAsync(new Uri(Url("/live/sweeps/live")));
            Assert.Fail($"the report never appeared; the fragment answers {(int)fragment.StatusCode}: {(await fragment.Content.ReadAsStringAsync())[..Math.Min(3000, (int)(fragment.Content.Headers.ContentLength ?? 3000))]}");
        }

        Assert.Equal(42, (await browser.EvaluateAsync("window.__notReloaded"))!.GetValue<int>());
        Assert.Contains("1 running", (await browser.EvaluateAsync("document.getElementById('counts').innerText"))!.GetValue<string>(), StringComparison.Ordinal);

        Assert.True(browser.Errors.IsEmpty, string.Join('\n', browser.Errors));

        // Ctrl-C stops it cleanly.
        var (code, output) = await server.InterruptAsync();
        Assert.Equal(0, code);
        Assert.Contains("stopped", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_WithToken_EveryRequestNeedsItAndNothingIsWritable()
    {
        string db = Path.Combine(_dir, "empty.db");
        Assert.Equal(0, CliProcess.Run(_dir, null, "store", "migrate", "--db", db).Code);
        await using var server = await ServerProcess.StartAsync(db, "--token", Token);
        using var http = new HttpClient { BaseAddress = server.Url };
        foreach (string path in new[] { "/", "/live.js", "/api/sweeps", "/sweeps/x", "/nowhere" })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(new Uri(path, UriKind.Relative))).StatusCode);
        }

        using var wrong = new HttpRequestMessage(HttpMethod.Get, "/") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", Token + "x") } };
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(wrong)).StatusCode);
        using var right = new HttpRequestMessage(HttpMethod.Get, "/") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", Token) } };
        var page = await http.SendAsync(right);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("no sweep yet", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // ?token=… once: the browser keeps an HttpOnly cookie for the links and the live script.
        var first = await http.GetAsync(new Uri("/?token=" + Token, UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        string cookie = first.Headers.GetValues("Set-Cookie").Single();
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        using var withCookie = new HttpRequestMessage(HttpMethod.Get, "/live/home") { Headers = { { "Cookie", cookie.Split(';')[0] } } };
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(withCookie)).StatusCode);

        using var post = new HttpRequestMessage(HttpMethod.Post, "/") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", Token) } };
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await http.SendAsync(post)).StatusCode);
    }

    [Theory]
    [InlineData("0.0.0.0", null, "refusing to listen on 0.0.0.0 without --token")]
    [InlineData("192.168.1.20", null, "refusing to listen on 192.168.1.20 without --token")]
    [InlineData("0.0.0.0", "short", "--token is shorter than 16 characters")]
    [InlineData("db.lab", Token, "--host 'db.lab' is not an IP address")]
    public void Serve_OpenBindWithoutAGoodToken_RefusedWithExit2(string host, string? token, string message)
    {
        string[] args = token is null ? ["serve", "--host", host, "--db", Path.Combine(_dir, "x.db")] : ["serve", "--host", host, "--token", token, "--db", Path.Combine(_dir, "x.db")];
        var result = CliProcess.Run(_dir, null, args);
        Assert.Equal(2, result.Code);
        Assert.Contains(message, result.Err, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_dir, "x.db")));
    }
}
