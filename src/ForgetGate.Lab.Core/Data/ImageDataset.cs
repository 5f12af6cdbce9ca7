using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace ForgetGate.Lab.Core.Data;

/// <summary>
/// A labelled image dataset held once in memory as bytes (train and test splits). Task transforms are applied
/// when batches are built, never by copying the images per task.
/// </summary>
public sealed class ImageDataset
{
    private static readonly ConcurrentDictionary<string, Lazy<ImageDataset>> s_cache = new(StringComparer.Ordinal);

    private ImageDataset(string name, string directory, IdxArray trainImages, IdxArray trainLabels, IdxArray testImages, IdxArray testLabels)
    {
        Name = name;
        Directory = directory;
        Rows = trainImages.Dimensions[1];
        Columns = trainImages.Dimensions[2];
        TrainImages = trainImages.Data;
        TrainLabels = trainLabels.Data;
        TestImages = testImages.Data;
        TestLabels = testLabels.Data;
        Classes = TrainLabels.Concat(TestLabels).Max() + 1;
        FileHashes = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [Stem(trainImages.Path)] = trainImages.ContentSha256,
            [Stem(trainLabels.Path)] = trainLabels.ContentSha256,
            [Stem(testImages.Path)] = testImages.ContentSha256,
            [Stem(testLabels.Path)] = testLabels.ContentSha256,
        };
        var order = FileHashes.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => $"{f.Key}:{f.Value}\n");
        Fingerprint = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Concat(order))));
        (Mean, Std) = PixelMoments(TrainImages);
    }

    /// <summary>Catalogue name, e.g. fashion-mnist.</summary>
    public string Name { get; }

    /// <summary>Folder the files were read from.</summary>
    public string Directory { get; }

    /// <summary>Image height (time steps when rows are read as a sequence).</summary>
    public int Rows { get; }

    /// <summary>Image width (features per time step).</summary>
    public int Columns { get; }

    /// <summary>Number of classes (largest label + 1).</summary>
    public int Classes { get; }

    /// <summary>Training images, row-major, one byte per pixel.</summary>
    public byte[] TrainImages { get; }

    /// <summary>Training labels.</summary>
    public byte[] TrainLabels { get; }

    /// <summary>Test images.</summary>
    public byte[] TestImages { get; }

    /// <summary>Test labels.</summary>
    public byte[] TestLabels { get; }

    /// <summary>SHA-256 of each file's decompressed content, by file name without <c>.gz</c> (independent of packaging).</summary>
    public IReadOnlyDictionary<string, string> FileHashes { get; }

    /// <summary>SHA-256 over the sorted "name:sha256" lines of the four files: what runs record.</summary>
    public string Fingerprint { get; }

    /// <summary>Mean of training pixels scaled to [0, 1].</summary>
    public double Mean { get; }

    /// <summary>Standard deviation of training pixels scaled to [0, 1].</summary>
    public double Std { get; }

    /// <summary>Pixels per image.</summary>
    public int PixelCount => Rows * Columns;

    /// <summary>Loads (once per process and folder) the dataset found by <see cref="DatasetLocator"/>.</summary>
    public static ImageDataset Load(string name, string? explicitDirectory = null)
    {
        var location = DatasetLocator.Find(name, explicitDirectory);
        return s_cache.GetOrAdd(location.Directory, _ => new Lazy<ImageDataset>(() => LoadFrom(name, location))).Value;
    }

    /// <summary>Reads and cross-checks the four IDX files of a located dataset.</summary>
    public static ImageDataset LoadFrom(string name, DatasetLocation location)
    {
        ArgumentNullException.ThrowIfNull(location);
        var trainImages = IdxFile.Read(location.Files[DatasetFile.TrainImages], 3);
        var trainLabels = IdxFile.Read(location.Files[DatasetFile.TrainLabels], 1);
        var testImages = IdxFile.Read(location.Files[DatasetFile.TestImages], 3);
        var testLabels = IdxFile.Read(location.Files[DatasetFile.TestLabels], 1);
        CheckPair(trainImages, trainLabels);
        CheckPair(testImages, testLabels);
        if (trainImages.Dimensions[1] != testImages.Dimensions[1] || trainImages.Dimensions[2] != testImages.Dimensions[2])
        {
            throw new InvalidDataException($"{testImages.Path}: images are {testImages.Dimensions[1]}×{testImages.Dimensions[2]} but the training images are {trainImages.Dimensions[1]}×{trainImages.Dimensions[2]}.");
        }

        return new ImageDataset(name, location.Directory, trainImages, trainLabels, testImages, testLabels);
    }

    private static string Stem(string path)
    {
        string name = Path.GetFileName(path);
        return name.EndsWith(".gz", StringComparison.Ordinal) ? name[..^3] : name;
    }

    private static void CheckPair(IdxArray images, IdxArray labels)
    {
        if (images.Count != labels.Count)
        {
            throw new InvalidDataException($"{labels.Path}: {labels.Count} labels for {images.Count} images in {images.Path}; the counts must agree.");
        }
    }

    private static (double Mean, double Std) PixelMoments(byte[] pixels)
    {
        Span<long> histogram = stackalloc long[256];
        foreach (byte p in pixels)
        {
            histogram[p]++;
        }

        double n = pixels.Length, sum = 0, sumSq = 0;
        for (int v = 0; v < 256; v++)
        {
            double x = v / 255.0;
            sum += histogram[v] * x;
            sumSq += histogram[v] * x * x;
        }

        double mean = sum / n;
        return (mean, Math.Sqrt(Math.Max((sumSq / n) - (mean * mean), 1e-12)));
    }
}
