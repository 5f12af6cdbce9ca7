using System.CommandLine;
using System.Globalization;
using ForgetGate.Lab.Core.Data;

namespace ForgetGate.Lab.Cli.Commands;

/// <summary><c>forgetgate data list | verify NAME | fetch NAME</c>: where datasets are, whether they are intact, and getting them.</summary>
internal static class DataCommand
{
    public static Command Create()
    {
        var data = new Command("data", "Find, verify and fetch the image datasets (fashion-mnist, mnist, kmnist).\nExample: forgetgate data list");
        data.Subcommands.Add(List());
        data.Subcommands.Add(Verify());
        data.Subcommands.Add(Fetch());
        return data;
    }

    private static Command List()
    {
        var command = new Command("list", "Show where each dataset is found (search order: FORGETGATE_DATA, user cache, /usr/share/datasets) and its fingerprint.\nExample: forgetgate data list");
        command.SetAction(_ =>
        {
            foreach (var name in DatasetLocator.Known)
            {
                if (DatasetLocator.TryFind(name, null, out var location))
                {
                    try
                    {
                        var d = ImageDataset.Load(name);
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-14} {location.Directory} ({location.Source}): {d.TrainLabels.Length} train, {d.TestLabels.Length} test, fingerprint {d.Fingerprint}"));
                    }
                    catch (InvalidDataException e)
                    {
                        Console.WriteLine($"{name,-14} {location.Directory} ({location.Source}): CORRUPT: {e.Message}");
                    }
                }
                else
                {
                    Console.WriteLine($"{name,-14} not found. {DatasetLocator.HowToGet(name)}");
                }
            }

            return 0;
        });
        return command;
    }

    private static Command Verify()
    {
        var name = new Argument<string>("NAME") { Description = "Dataset name." };
        var command = new Command("verify", "Read every file of a dataset and check structure, counts and (where known) content hashes.\nExample: forgetgate data verify fashion-mnist") { name };
        command.SetAction(parse =>
        {
            string n = parse.GetValue(name)!;
            try
            {
                var location = DatasetLocator.Find(n);
                var d = ImageDataset.LoadFrom(n, location);
                var known = DatasetFetcher.Catalogue.GetValueOrDefault(n)?.ContentSha256 ?? new Dictionary<string, string?>();
                int bad = 0;
                foreach (var (file, sha) in d.FileHashes.OrderBy(f => f.Key, StringComparer.Ordinal))
                {
                    string verdict = known.GetValueOrDefault(file) is { } expected ? (expected == sha ? "ok (matches the pinned hash)" : $"MISMATCH (expected {expected})") : "no reference hash";
                    bad += verdict.StartsWith("MISMATCH", StringComparison.Ordinal) ? 1 : 0;
                    Console.WriteLine($"{file,-26} {sha} {verdict}");
                }

                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{n}: {d.TrainLabels.Length} train / {d.TestLabels.Length} test images of {d.Rows}×{d.Columns}, {d.Classes} classes, fingerprint {d.Fingerprint}"));
                return bad == 0 ? 0 : 1;
            }
            catch (Exception e) when (e is DatasetNotFoundException or InvalidDataException)
            {
                Console.Error.WriteLine($"forgetgate data verify: {e.Message}");
                return 2;
            }
        });
        return command;
    }

    private static Command Fetch()
    {
        var name = new Argument<string>("NAME") { Description = "Dataset name." };
        var target = new Option<string?>("--to") { Description = "Destination folder (default: the user cache, ~/.cache/forgetgate/NAME)." };
        var baseUrl = new Option<Uri?>("--base-url") { Description = "Download from this address instead of the official one (a mirror)." };
        var command = new Command("fetch", "Make a dataset available: use a local copy if there is one, else download it (checked), else say how to get it.\nExample: forgetgate data fetch fashion-mnist")
        {
            name, target, baseUrl,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            string n = parse.GetValue(name)!;
            if (!DatasetFetcher.Catalogue.TryGetValue(n, out var source))
            {
                Console.Error.WriteLine($"forgetgate data fetch: unknown dataset '{n}'; expected one of: {string.Join(", ", DatasetFetcher.Catalogue.Keys)}.");
                return 2;
            }

            if (parse.GetValue(target) is null && DatasetLocator.TryFind(n, null, out var existing))
            {
                Console.WriteLine($"{n}: already available in {existing.Directory} ({existing.Source}).");
                return 0;
            }

            string destination = parse.GetValue(target) ?? Path.Combine(DatasetLocator.CacheRoot(), n);
            if (parse.GetValue(baseUrl) is { } mirror)
            {
                source = source with { BaseAddress = mirror };
            }

            try
            {
                using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(10) };
                var lastLine = DateTime.MinValue;
                await DatasetFetcher.FetchAsync(source, destination, http, (file, done, total) =>
                {
                    if (DateTime.UtcNow - lastLine < TimeSpan.FromSeconds(1) && done != total)
                    {
                        return;
                    }

                    lastLine = DateTime.UtcNow;
                    string pct = total > 0 ? string.Create(CultureInfo.InvariantCulture, $"{100.0 * done / total,5:F1}%") : "";
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{DateTimeOffset.UtcNow:HH:mm:ss} {file} {done / 1024.0 / 1024.0:F1} MiB {pct}"));
                }, cancellationToken).ConfigureAwait(false);
                Console.WriteLine($"{n}: downloaded and verified into {destination}.");
                return 0;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or InvalidDataException or TaskCanceledException)
            {
                // Unreachable or refused: the environment, not the input (run-all.sh falls back to the Debian package).
                Console.Error.WriteLine($"forgetgate data fetch: {e.Message} {DatasetLocator.HowToGet(n)}");
                return Errors.ExitCodes.Unavailable;
            }
        });
        return command;
    }
}
