using System.Buffers.Binary;
using System.IO.Compression;
using System.Security.Cryptography;

namespace ForgetGate.Lab.Core.Data;

/// <summary>An IDX array of unsigned bytes (MNIST format): its dimensions and data, plus the SHA-256 of the decompressed bytes.</summary>
public sealed record IdxArray(string Path, IReadOnlyList<int> Dimensions, byte[] Data, string ContentSha256)
{
    /// <summary>Items along the first dimension.</summary>
    public int Count => Dimensions[0];
}

/// <summary>
/// Reads IDX files, gzip-compressed or raw. Only unsigned-byte arrays are accepted (type 0x08), which covers
/// MNIST, Fashion-MNIST and KMNIST images (3 dimensions) and labels (1 dimension).
/// Every check names the file and what is wrong: magic, type, rank, dimensions, and the exact data length.
/// </summary>
public static class IdxFile
{
    private const int MaxItems = 10_000_000;

    /// <summary>Reads an IDX file and checks it has <paramref name="expectedRank"/> dimensions.</summary>
    public static IdxArray Read(string path, int expectedRank)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes;
        try
        {
            bytes = Decompress(path);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: gzip data is corrupt or truncated ({e.Message}).", e);
        }

        return Parse(bytes, path, expectedRank);
    }

    /// <summary>Parses IDX bytes (already decompressed).</summary>
    public static IdxArray Parse(byte[] bytes, string path, int expectedRank)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.Length < 4 || bytes[0] != 0 || bytes[1] != 0)
        {
            throw new InvalidDataException($"{path}: not an IDX file (the first two bytes must be zero; found {Hex(bytes, 4)}).");
        }

        if (bytes[2] != 0x08)
        {
            throw new InvalidDataException($"{path}: IDX element type 0x{bytes[2]:x2} is not supported; expected 0x08 (unsigned byte).");
        }

        int rank = bytes[3];
        if (rank != expectedRank)
        {
            throw new InvalidDataException($"{path}: IDX array has {rank} dimension(s); expected {expectedRank} ({(expectedRank == 3 ? "images" : "labels")}).");
        }

        int header = 4 + (4 * rank);
        if (bytes.Length < header)
        {
            throw new InvalidDataException($"{path}: truncated IDX header ({bytes.Length} bytes; the header alone needs {header}).");
        }

        var dims = new int[rank];
        long length = 1;
        for (int i = 0; i < rank; i++)
        {
            uint d = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(4 + (4 * i)));
            if (d == 0 || d > MaxItems)
            {
                throw new InvalidDataException($"{path}: dimension {i} is {d}; expected 1..{MaxItems}.");
            }

            dims[i] = (int)d;
            length *= d;
        }

        if (bytes.Length - header != length)
        {
            throw new InvalidDataException(
                $"{path}: data is {bytes.Length - header} bytes but the header ({string.Join(" × ", dims)}) needs {length}: the file is {(bytes.Length - header < length ? "truncated" : "longer than its header says")}.");
        }

        return new IdxArray(path, dims, bytes[header..], Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    private static byte[] Decompress(string path)
    {
        using var file = File.OpenRead(path);
        Span<byte> magic = stackalloc byte[2];
        int read = file.Read(magic);
        file.Position = 0;
        using var output = new MemoryStream();
        if (read == 2 && magic[0] == 0x1f && magic[1] == 0x8b)
        {
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            gzip.CopyTo(output);
        }
        else
        {
            file.CopyTo(output);
        }

        return output.ToArray();
    }

    private static string Hex(byte[] bytes, int n) => Convert.ToHexString(bytes.AsSpan(0, Math.Min(n, bytes.Length)));
}
