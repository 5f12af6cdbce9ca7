using System.Buffers.Binary;
using System.IO.Compression;

namespace ForgetGate.Lab.Core.Tests.Data;

/// <summary>Writes small MNIST-format datasets (gzip or raw IDX) into a temporary folder.</summary>
internal sealed class IdxFixture : IDisposable
{
    public IdxFixture(int train = 200, int test = 100, int rows = 6, int columns = 6, int classes = 10, bool gzip = true)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("fg-idx-").FullName;
        var rng = new System.Random(1);
        Write("train-images-idx3-ubyte", Images(train, rows, columns, rng), gzip);
        Write("train-labels-idx1-ubyte", Labels(train, classes), gzip);
        Write("t10k-images-idx3-ubyte", Images(test, rows, columns, rng), gzip);
        Write("t10k-labels-idx1-ubyte", Labels(test, classes), gzip);
    }

    public string Directory { get; }

    public string PathOf(string stem) =>
        File.Exists(Path.Combine(Directory, stem + ".gz")) ? Path.Combine(Directory, stem + ".gz") : Path.Combine(Directory, stem);

    public static byte[] Images(int n, int rows, int columns, System.Random rng)
    {
        var bytes = Header(0x08, 3, [n, rows, columns]).Concat(new byte[n * rows * columns]).ToArray();
        rng.NextBytes(bytes.AsSpan(16));
        return bytes;
    }

    public static byte[] Labels(int n, int classes) =>
        Header(0x08, 1, [n]).Concat(Enumerable.Range(0, n).Select(i => (byte)(i % classes))).ToArray();

    public static byte[] Header(byte type, byte rank, int[] dims)
    {
        var header = new byte[4 + (4 * rank)];
        header[2] = type;
        header[3] = rank;
        for (int i = 0; i < rank; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + (4 * i)), dims[i]);
        }

        return header;
    }

    public void Write(string stem, byte[] content, bool gzip)
    {
        foreach (var old in new[] { stem, stem + ".gz" })
        {
            File.Delete(Path.Combine(Directory, old));
        }

        if (!gzip)
        {
            File.WriteAllBytes(Path.Combine(Directory, stem), content);
            return;
        }

        using var file = File.Create(Path.Combine(Directory, stem + ".gz"));
        using var z = new GZipStream(file, CompressionLevel.Fastest);
        z.Write(content);
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
