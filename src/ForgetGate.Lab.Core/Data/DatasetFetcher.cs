namespace ForgetGate.Lab.Core.Data;

/// <summary>Where a dataset is published and, when known, the SHA-256 of each file's decompressed content.</summary>
public sealed record DatasetSource(string Name, Uri BaseAddress, IReadOnlyDictionary<string, string?> ContentSha256);

/// <summary>
/// Downloads the four IDX files of a dataset: every file goes to a staging folder, is checked (IDX structure, and the
/// content SHA-256 where the catalogue knows it), and only when all four pass are they moved into place. A wrong
/// checksum or a broken connection leaves nothing behind.
/// </summary>
public static class DatasetFetcher
{
    /// <summary>Stems of the four files, each downloaded as <c>stem.gz</c>.</summary>
    public static IReadOnlyList<string> Stems { get; } = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

    /// <summary>The official addresses. Content hashes are pinned where we have verified them (Fashion-MNIST, from Debian's dataset-fashion-mnist).</summary>
    public static IReadOnlyDictionary<string, DatasetSource> Catalogue { get; } = new Dictionary<string, DatasetSource>(StringComparer.Ordinal)
    {
        ["fashion-mnist"] = new("fashion-mnist", new Uri("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"), new Dictionary<string, string?>
        {
            ["train-images-idx3-ubyte"] = "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            ["train-labels-idx1-ubyte"] = "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            ["t10k-images-idx3-ubyte"] = "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            ["t10k-labels-idx1-ubyte"] = "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        }),
        ["mnist"] = new("mnist", new Uri("https://ossci-datasets.s3.amazonaws.com/mnist/"), Stems.ToDictionary(s => s, _ => (string?)null)),
        ["kmnist"] = new("kmnist", new Uri("http://codh.rois.ac.jp/kmnist/dataset/kmnist/"), Stems.ToDictionary(s => s, _ => (string?)null)),
    };

    /// <summary>Downloads <paramref name="source"/> into <paramref name="targetDirectory"/>; <paramref name="progress"/> gets (file, bytes so far, total or -1).</summary>
    public static async Task FetchAsync(DatasetSource source, string targetDirectory, HttpClient http, Action<string, long, long>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(http);
        Directory.CreateDirectory(targetDirectory);
        string staging = Path.Combine(targetDirectory, $".staging-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            foreach (var stem in Stems)
            {
                var url = new Uri(source.BaseAddress, stem + ".gz");
                string part = Path.Combine(staging, stem + ".gz");
                await DownloadAsync(http, url, part, (done, total) => progress?.Invoke(stem + ".gz", done, total), cancellationToken).ConfigureAwait(false);
                var array = IdxFile.Read(part, stem.Contains("images", StringComparison.Ordinal) ? 3 : 1);
                if (source.ContentSha256.GetValueOrDefault(stem) is { } expected && expected != array.ContentSha256)
                {
                    throw new InvalidDataException($"{url}: content SHA-256 is {array.ContentSha256}, expected {expected}; the download is not the {source.Name} release.");
                }
            }

            foreach (var stem in Stems)
            {
                File.Move(Path.Combine(staging, stem + ".gz"), Path.Combine(targetDirectory, stem + ".gz"), overwrite: true);
            }
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }
    }

    private static async Task DownloadAsync(HttpClient http, Uri url, string path, Action<long, long> progress, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"{url}: HTTP {(int)response.StatusCode} {response.ReasonPhrase}.");
        }

        long total = response.Content.Headers.ContentLength ?? -1;
        var input = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (input.ConfigureAwait(false))
        {
            var output = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
            await using (output.ConfigureAwait(false))
            {
                var buffer = new byte[81920];
                long done = 0;
                int read;
                try
                {
                    while ((read = await input.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                    {
                        await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                        done += read;
                        progress(done, total);
                    }
                }
                catch (IOException e)
                {
                    throw new IOException($"{url}: connection broke after {done} bytes ({e.Message}).", e);
                }

                if (total >= 0 && done != total)
                {
                    throw new IOException($"{url}: connection closed after {done} of {total} bytes.");
                }
            }
        }
    }
}
