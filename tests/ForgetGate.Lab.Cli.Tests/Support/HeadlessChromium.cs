using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace ForgetGate.Lab.Cli.Tests.Support;

/// <summary>
/// A real headless Chromium (Debian's <c>/usr/bin/chromium</c>) driven through the DevTools protocol over a WebSocket:
/// navigate, evaluate JavaScript, take screenshots, and collect every console error, uncaught exception and
/// browser-logged error (failed loads, CSP violations) the pages produce.
/// </summary>
internal sealed partial class HeadlessChromium : IAsyncDisposable
{
    public const string Executable = "/usr/bin/chromium";

    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _socket = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonNode?>> _pending = new();
    private readonly CancellationTokenSource _stop = new();
    private Task _receive = Task.CompletedTask;
    private int _nextId;

    private HeadlessChromium(Process process, string profile)
    {
        _process = process;
        _profile = profile;
    }

    /// <summary>Console errors, exceptions and error log entries seen so far.</summary>
    public ConcurrentQueue<string> Errors { get; } = new();

    public static async Task<HeadlessChromium> StartAsync()
    {
        Assert.True(File.Exists(Executable), $"{Executable} is missing: apt-get install chromium (the CI script installs it).");
        string profile = Directory.CreateTempSubdirectory("fg-cdp-").FullName;
        var psi = new ProcessStartInfo(Executable) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1280,2000", "--remote-debugging-port=0", $"--user-data-dir={profile}", "about:blank" })
        {
            psi.ArgumentList.Add(a);
        }

        var process = Process.Start(psi)!;
        _ = process.StandardOutput.ReadToEndAsync();
        var chromium = new HeadlessChromium(process, profile);
        var deadline = Stopwatch.StartNew();
        string? browserUrl = null;
        while (browserUrl is null && deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            string? line = await process.StandardError.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            if (line is null)
            {
                break;
            }

            if (DevToolsLine().Match(line) is { Success: true } m)
            {
                browserUrl = m.Groups[1].Value;
            }
        }

        Assert.True(browserUrl is not null, "Chromium did not print its DevTools address.");
        _ = process.StandardError.ReadToEndAsync(); // keep draining
        var port = new Uri(browserUrl).Port;
        using var http = new HttpClient();
        var targets = JsonNode.Parse(await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/json/list")))!.AsArray();
        string pageUrl = targets.First(t => (string?)t!["type"] == "page")!["webSocketDebuggerUrl"]!.GetValue<string>();
        await chromium._socket.ConnectAsync(new Uri(pageUrl), CancellationToken.None);
        chromium._receive = chromium.ReceiveLoopAsync();
        await chromium.SendAsync("Runtime.enable");
        await chromium.SendAsync("Log.enable");
        await chromium.SendAsync("Page.enable");
        return chromium;
    }

    public async Task<JsonNode?> SendAsync(string method, object? parameters = null)
    {
        int id = Interlocked.Increment(ref _nextId);
        var tcs = new TaskCompletionSource<JsonNode?>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = tcs;
        var message = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object?> { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new { } });
        await _socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        return await tcs.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    /// <summary>Opens <paramref name="url"/> and waits until the document has loaded.</summary>
    public async Task NavigateAsync(string url)
    {
        await SendAsync("Page.navigate", new { url });
        await WaitForAsync("document.readyState === 'complete' && location.href === " + JsonSerializer.Serialize(url), TimeSpan.FromSeconds(30));
    }

    /// <summary>The value of a JavaScript expression (JSON-serialisable).</summary>
    public async Task<JsonNode?> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new { expression, returnByValue = true });
        if (result?["exceptionDetails"] is { } error)
        {
            throw new InvalidOperationException($"{expression}: {error.ToJsonString()}");
        }

        return result?["result"]?["value"];
    }

    /// <summary>Polls a boolean expression until it holds; false when <paramref name="timeout"/> passes first.</summary>
    public async Task<bool> WaitForAsync(string expression, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if ((await EvaluateAsync(expression))?.GetValueKind() == JsonValueKind.True)
            {
                return true;
            }

            await Task.Delay(100);
        }

        return false;
    }

    public async Task<byte[]> ScreenshotAsync()
    {
        var result = await SendAsync("Page.captureScreenshot", new { format = "png", captureBeyondViewport = true });
        return Convert.FromBase64String(result!["data"]!.GetValue<string>());
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[1 << 16];
        var message = new MemoryStream();
        try
        {
            while (_socket.State == WebSocketState.Open)
            {
                var part = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (part.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                message.Write(buffer, 0, part.Count);
                if (!part.EndOfMessage)
                {
                    continue;
                }

                var node = JsonNode.Parse(Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length));
                message.SetLength(0);
                if (node?["id"] is { } id && _pending.TryRemove(id.GetValue<int>(), out var tcs))
                {
                    tcs.TrySetResult(node["error"] is { } error ? throw new InvalidOperationException(error.ToJsonString()) : node["result"]);
                }
                else if (node?["method"]?.GetValue<string>() is { } method)
                {
                    var p = node["params"];
                    string type = p?["type"]?.ToString() ?? "", level = p?["entry"]?["level"]?.ToString() ?? "";
                    switch (method)
                    {
                        case "Runtime.consoleAPICalled" when type is "error" or "assert" or "warning":
                            Errors.Enqueue("console." + p!["type"]?.ToString() + ": " + p["args"]?.ToJsonString());
                            break;
                        case "Runtime.exceptionThrown":
                            Errors.Enqueue("exception: " + p?["exceptionDetails"]?.ToJsonString());
                            break;
                        case "Log.entryAdded" when level is "error" or "warning":
                            Errors.Enqueue("log " + p!["entry"]!["level"]?.ToString() + ": " + p["entry"]!["text"]?.ToString() + " " + p["entry"]!["url"]?.ToString());
                            break;
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (WebSocketException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _receive.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
        }

        _socket.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }

        _process.Dispose();
        _stop.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [GeneratedRegex(@"DevTools listening on (ws://\S+)")]
    private static partial Regex DevToolsLine();
}
