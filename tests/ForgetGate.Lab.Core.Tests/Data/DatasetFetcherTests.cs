using System.Net;
using System.Net.Sockets;
using ForgetGate.Lab.Core.Data;

namespace ForgetGate.Lab.Core.Tests.Data;

/// <summary>The download path against a loopback HTTP server serving small generated IDX files (no internet).</summary>
public sealed class DatasetFetcherTests : IDisposable
{
    private readonly IdxFixture _files = new(train: 50, test: 20);
    private readonly string _target = Directory.CreateTempSubdirectory("fg-fetch-").FullName;

    public void Dispose()
    {
        _files.Dispose();
        Directory.Delete(_target, recursive: true);
    }

    /// <summary>Serves the fixture files; <paramref name="breakAfter"/> makes one file's response stop mid-body.</summary>
    private static async Task<T> WithServerAsync<T>(string root, string? breakFile, Func<Uri, Task<T>> body)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var cts = new CancellationTokenSource();
        var server = Task.Run(async () =>
        {
            while (!cts.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await listener.AcceptTcpClientAsync(cts.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                using (client)
                {
                    var stream = client.GetStream();
                    var reader = new StreamReader(stream);
                    string request = await reader.ReadLineAsync() ?? "";
                    while (!string.IsNullOrEmpty(await reader.ReadLineAsync()))
                    {
                    }

                    string name = request.Split(' ')[1].TrimStart('/');
                    string path = Path.Combine(root, name);
                    if (!File.Exists(path))
                    {
                        await stream.WriteAsync("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray());
                        continue;
                    }

                    byte[] body = await File.ReadAllBytesAsync(path);
                    await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n"));
                    // A broken connection: half the promised body, then the socket closes.
                    await stream.WriteAsync(name == breakFile ? body.AsMemory(0, body.Length / 2) : body);
                }
            }
        });
        try
        {
            return await body(new Uri($"http://127.0.0.1:{port}/"));
        }
        finally
        {
            await cts.CancelAsync();
            listener.Stop();
            await server;
        }
    }

    private DatasetSource Source(Uri address, string? wrongHashFor = null) =>
        new("fixture", address, DatasetFetcher.Stems.ToDictionary(s => s, s => (string?)(s == wrongHashFor ? new string('0', 64) : IdxFile.Read(_files.PathOf(s), s.Contains("images", StringComparison.Ordinal) ? 3 : 1).ContentSha256)));

    [Fact]
    public async Task FetchAsync_ServesAllFiles_VerifiesAndPlacesThem()
    {
        var reports = new List<(string, long, long)>();
        await WithServerAsync(_files.Directory, null, async address =>
        {
            using var http = new HttpClient();
            await DatasetFetcher.FetchAsync(Source(address), _target, http, (f, d, t) => reports.Add((f, d, t)), CancellationToken.None);
            return 0;
        });

        Assert.True(DatasetLocator.TryFind("fixture", _target, out var location));
        Assert.Equal(50, ImageDataset.LoadFrom("fixture", location).TrainLabels.Length);
        Assert.Contains(reports, r => r.Item1 == "train-images-idx3-ubyte.gz" && r.Item2 == r.Item3);
        Assert.Empty(Directory.GetDirectories(_target));
    }

    [Fact]
    public async Task FetchAsync_WrongChecksum_LeavesNothing()
    {
        var e = await WithServerAsync(_files.Directory, null, async address =>
        {
            using var http = new HttpClient();
            return await Assert.ThrowsAsync<InvalidDataException>(() => DatasetFetcher.FetchAsync(Source(address, wrongHashFor: "t10k-images-idx3-ubyte"), _target, http, null, CancellationToken.None));
        });

        Assert.Contains("t10k-images-idx3-ubyte.gz: content SHA-256 is", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(_target));
    }

    [Fact]
    public async Task FetchAsync_BrokenConnection_LeavesNothing()
    {
        var e = await WithServerAsync(_files.Directory, "train-labels-idx1-ubyte.gz", async address =>
        {
            using var http = new HttpClient();
            return await Assert.ThrowsAnyAsync<Exception>(() => DatasetFetcher.FetchAsync(Source(address), _target, http, null, CancellationToken.None));
        });

        Assert.Contains("train-labels-idx1-ubyte.gz", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(_target));
    }

    [Fact]
    public async Task FetchAsync_MissingFile_NamesTheAddressAndStatus()
    {
        var hashes = Source(new Uri("http://127.0.0.1/")).ContentSha256;
        File.Delete(_files.PathOf("t10k-labels-idx1-ubyte"));
        var e = await WithServerAsync(_files.Directory, null, async address =>
        {
            using var http = new HttpClient();
            return await Assert.ThrowsAsync<HttpRequestException>(() => DatasetFetcher.FetchAsync(new DatasetSource("fixture", address, hashes), _target, http, null, CancellationToken.None));
        });

        Assert.Contains("t10k-labels-idx1-ubyte.gz: HTTP 404", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(_target));
    }
}
