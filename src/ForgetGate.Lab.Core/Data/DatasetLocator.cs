namespace ForgetGate.Lab.Core.Data;

/// <summary>The four files of an MNIST-format dataset.</summary>
public enum DatasetFile
{
    /// <summary>Training images (IDX, 3 dimensions).</summary>
    TrainImages,

    /// <summary>Training labels (IDX, 1 dimension).</summary>
    TrainLabels,

    /// <summary>Test images.</summary>
    TestImages,

    /// <summary>Test labels.</summary>
    TestLabels,
}

/// <summary>Where a dataset was found and the path of each of its files.</summary>
public sealed record DatasetLocation(string Name, string Directory, string Source, IReadOnlyDictionary<DatasetFile, string> Files);

/// <summary>A dataset could not be found; the message says where we looked and how to get it.</summary>
public sealed class DatasetNotFoundException : Exception
{
    /// <summary>Creates the exception.</summary>
    public DatasetNotFoundException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public DatasetNotFoundException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    public DatasetNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// Finds datasets in this order: an explicit folder, <c>$FORGETGATE_DATA/&lt;name&gt;</c>, the user cache
/// (<c>$XDG_CACHE_HOME/forgetgate/&lt;name&gt;</c> or <c>~/.cache/forgetgate/&lt;name&gt;</c>), <c>/usr/share/datasets/&lt;name&gt;</c>
/// (where Debian's <c>dataset-fashion-mnist</c> installs). Each file may be gzip-compressed (<c>.gz</c>) or raw.
/// </summary>
public static class DatasetLocator
{
    /// <summary>Dataset names the catalogue knows.</summary>
    public static IReadOnlyList<string> Known { get; } = ["fashion-mnist", "mnist", "kmnist"];

    private static readonly Dictionary<DatasetFile, string> s_stems = new()
    {
        [DatasetFile.TrainImages] = "train-images-idx3-ubyte",
        [DatasetFile.TrainLabels] = "train-labels-idx1-ubyte",
        [DatasetFile.TestImages] = "t10k-images-idx3-ubyte",
        [DatasetFile.TestLabels] = "t10k-labels-idx1-ubyte",
    };

    /// <summary>The folders searched for <paramref name="name"/>, in order, with where each comes from.</summary>
    public static IReadOnlyList<(string Directory, string Source)> Candidates(string name, string? explicitDirectory = null)
    {
        var list = new List<(string, string)>();
        if (!string.IsNullOrEmpty(explicitDirectory))
        {
            list.Add((explicitDirectory, "given path"));
        }

        if (Environment.GetEnvironmentVariable("FORGETGATE_DATA") is { Length: > 0 } data)
        {
            list.Add((Path.Combine(data, name), "FORGETGATE_DATA"));
        }

        list.Add((Path.Combine(CacheRoot(), name), "user cache"));
        list.Add((Path.Combine("/usr/share/datasets", name), "system (Debian package)"));
        return list;
    }

    /// <summary>The user cache folder for datasets.</summary>
    public static string CacheRoot()
    {
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        string root = string.IsNullOrEmpty(xdg) ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache") : xdg;
        return Path.Combine(root, "forgetgate");
    }

    /// <summary>The first candidate folder holding all four files; throws <see cref="DatasetNotFoundException"/> naming every folder tried.</summary>
    public static DatasetLocation Find(string name, string? explicitDirectory = null)
    {
        if (TryFind(name, explicitDirectory, out var location))
        {
            return location;
        }

        var tried = string.Join("; ", Candidates(name, explicitDirectory).Select(c => $"{c.Directory} ({c.Source})"));
        throw new DatasetNotFoundException($"Dataset '{name}' was not found. Looked in: {tried}. {HowToGet(name)}");
    }

    /// <summary>Finds a dataset without throwing.</summary>
    public static bool TryFind(string name, string? explicitDirectory, out DatasetLocation location)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!Known.Contains(name) && string.IsNullOrEmpty(explicitDirectory))
        {
            throw new DatasetNotFoundException($"Unknown dataset '{name}'; expected one of: {string.Join(", ", Known)}.");
        }

        foreach (var (directory, source) in Candidates(name, explicitDirectory))
        {
            var files = new Dictionary<DatasetFile, string>();
            foreach (var (kind, stem) in s_stems)
            {
                string raw = Path.Combine(directory, stem);
                string gz = raw + ".gz";
                if (File.Exists(gz))
                {
                    files[kind] = gz;
                }
                else if (File.Exists(raw))
                {
                    files[kind] = raw;
                }
            }

            if (files.Count == s_stems.Count)
            {
                location = new DatasetLocation(name, directory, source, files);
                return true;
            }
        }

        location = null!;
        return false;
    }

    /// <summary>One sentence saying how to get a dataset onto this machine.</summary>
    public static string HowToGet(string name) => name switch
    {
        "fashion-mnist" => "On Debian: apt-get install dataset-fashion-mnist (files land in /usr/share/datasets/fashion-mnist); or put the four IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) in $FORGETGATE_DATA/fashion-mnist.",
        _ => $"Put the four IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) in $FORGETGATE_DATA/{name} or {Path.Combine(CacheRoot(), name)}.",
    };
}
