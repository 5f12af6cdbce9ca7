using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace ForgetGate.Lab.Numerics.Serialization;

/// <summary>
/// Reader and writer of the safetensors format: 8-byte little-endian header length N, N bytes of JSON
/// (<c>{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {string: string}}</c>),
/// then the raw little-endian tensor bytes, offsets relative to the end of the header.
/// </summary>
public sealed class SafetensorsFile
{
    /// <summary>Largest header accepted (the reference implementation's limit is 100 MB too).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private const string MetadataKey = "__metadata__";
    private readonly Dictionary<string, SafetensorsTensor> _tensors;

    /// <summary>Creates an in-memory file from tensors (names must be unique) and optional metadata.</summary>
    public SafetensorsFile(IEnumerable<SafetensorsTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null, string source = "<memory>")
    {
        ArgumentNullException.ThrowIfNull(tensors);
        Source = source;
        _tensors = new Dictionary<string, SafetensorsTensor>(StringComparer.Ordinal);
        var order = new List<SafetensorsTensor>();
        foreach (var t in tensors)
        {
            ArgumentNullException.ThrowIfNull(t, nameof(tensors));
            if (t.Name == MetadataKey || !_tensors.TryAdd(t.Name, t))
            {
                throw new ArgumentException($"Tensor name '{t.Name}' is reserved or appears twice.", nameof(tensors));
            }

            order.Add(t);
        }

        Tensors = order;
        Metadata = metadata is null
            ? new Dictionary<string, string>(StringComparer.Ordinal)
            : new Dictionary<string, string>(metadata, StringComparer.Ordinal);
    }

    /// <summary>Where the file came from (its path), used in error messages.</summary>
    public string Source { get; }

    /// <summary>Tensors in file order.</summary>
    public IReadOnlyList<SafetensorsTensor> Tensors { get; }

    /// <summary>The <c>__metadata__</c> string map (empty if absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>True if a tensor of that name exists.</summary>
    public bool Contains(string name) => _tensors.ContainsKey(name);

    /// <summary>The named tensor; the error names the file and the missing tensor.</summary>
    public SafetensorsTensor Get(string name) =>
        _tensors.TryGetValue(name, out var t) ? t : throw new InvalidDataException($"{Source}: no tensor named '{name}'; the file holds: {string.Join(", ", _tensors.Keys)}.");

    /// <summary>
    /// The named F32 tensor's elements, checking its shape when <paramref name="expectedShape"/> is given;
    /// errors name the file, the tensor and what was expected.
    /// </summary>
    public float[] GetFloat32(string name, params int[] expectedShape)
    {
        var t = Get(name);
        if (t.DType != SafetensorsDType.F32)
        {
            throw new InvalidDataException($"{Source}: tensor '{name}' has dtype {t.DType}; expected F32.");
        }

        if (expectedShape.Length > 0 && !t.Shape.SequenceEqual(expectedShape))
        {
            throw new InvalidDataException($"{Source}: tensor '{name}' has shape [{string.Join(", ", t.Shape)}]; expected [{string.Join(", ", expectedShape)}].");
        }

        return t.AsFloat32();
    }

    /// <summary>Reads and fully validates a file; nothing is returned unless every check passed.</summary>
    /// <exception cref="InvalidDataException">The file is not valid safetensors; the message names the file and the problem.</exception>
    public static SafetensorsFile Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: file not found.", path);
        }

        return Parse(File.ReadAllBytes(path), path);
    }

    /// <summary>Parses and validates safetensors bytes; <paramref name="source"/> names them in errors.</summary>
    public static SafetensorsFile Parse(ReadOnlySpan<byte> bytes, string source)
    {
        if (bytes.Length < 8)
        {
            throw Bad(source, $"file is {bytes.Length} bytes, shorter than the 8-byte header length (truncated or not safetensors)");
        }

        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLength > MaxHeaderBytes)
        {
            throw Bad(source, $"header length {headerLength} exceeds the limit of {MaxHeaderBytes} bytes (corrupt or not safetensors)");
        }

        if (headerLength < 2 || 8 + (long)headerLength > bytes.Length)
        {
            throw Bad(source, $"header length {headerLength} does not fit in the file of {bytes.Length} bytes (truncated?)");
        }

        var header = bytes.Slice(8, (int)headerLength);
        var data = bytes[(8 + (int)headerLength)..];
        var entries = new List<(string Name, SafetensorsDType DType, int[] Shape, long Begin, long End)>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            using var doc = JsonDocument.Parse(header.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw Bad(source, "header JSON is not an object");
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                {
                    throw Bad(source, $"header names '{property.Name}' twice");
                }

                if (property.Name == MetadataKey)
                {
                    ReadMetadata(source, property.Value, metadata);
                    continue;
                }

                entries.Add(ReadEntry(source, property.Name, property.Value));
            }
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{source}: header is not well-formed JSON ({ex.Message}).", ex);
        }

        // The data section must be covered exactly: sorted by offset, each tensor starts where the last ended.
        entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long expectedBegin = 0;
        string? previous = null;
        foreach (var e in entries)
        {
            if (e.Begin < expectedBegin)
            {
                throw Bad(source, $"tensor '{e.Name}' data [{e.Begin}, {e.End}) overlaps tensor '{previous}' which ends at {expectedBegin}");
            }

            if (e.Begin > expectedBegin)
            {
                throw Bad(source, $"tensor '{e.Name}' starts at {e.Begin} but the previous data ends at {expectedBegin} (gap; offsets must be contiguous)");
            }

            expectedBegin = e.End;
            previous = e.Name;
        }

        if (expectedBegin != data.Length)
        {
            throw Bad(source, expectedBegin > data.Length
                ? $"tensor data needs {expectedBegin} bytes but the file holds {data.Length} after the header (truncated)"
                : $"the file holds {data.Length} data bytes but tensors cover only {expectedBegin} (trailing bytes)");
        }

        var tensors = new List<SafetensorsTensor>(entries.Count);
        foreach (var e in entries)
        {
            var raw = data.Slice((int)e.Begin, (int)(e.End - e.Begin));
            Array values = e.DType switch
            {
                SafetensorsDType.F32 => ToArray<float>(raw),
                SafetensorsDType.F64 => ToArray<double>(raw),
                SafetensorsDType.I32 => ToArray<int>(raw),
                _ => ToArray<long>(raw),
            };
            tensors.Add(SafetensorsTensor.Create(e.Name, e.DType, e.Shape, values));
        }

        return new SafetensorsFile(tensors, metadata, source);
    }

    /// <summary>
    /// Writes the file atomically: to a temporary file in the same folder, flushed, then renamed over
    /// <paramref name="path"/>, so readers never see a half-written file.
    /// </summary>
    public void Write(string path) => AtomicFile.Write(path, WriteTo);

    /// <summary>Serializes to a stream (tensors in <see cref="Tensors"/> order, data 8-byte aligned).</summary>
    public void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var json = new MemoryStream();
        long offset = 0;
        using (var w = new Utf8JsonWriter(json))
        {
            w.WriteStartObject();
            if (Metadata.Count > 0)
            {
                w.WriteStartObject(MetadataKey);
                foreach (var kv in Metadata)
                {
                    w.WriteString(kv.Key, kv.Value);
                }

                w.WriteEndObject();
            }

            foreach (var t in Tensors)
            {
                long size = (long)t.Length * ElementSize(t.DType);
                w.WriteStartObject(t.Name);
                w.WriteString("dtype", t.DType.ToString());
                w.WriteStartArray("shape");
                foreach (int d in t.Shape)
                {
                    w.WriteNumberValue(d);
                }

                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + size);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += size;
            }

            w.WriteEndObject();
        }

        // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
        int pad = (int)((8 - ((8 + json.Length) % 8)) % 8);
        for (int i = 0; i < pad; i++)
        {
            json.WriteByte((byte)' ');
        }

        Span<byte> lengthBytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(lengthBytes, (ulong)json.Length);
        stream.Write(lengthBytes);
        json.Position = 0;
        json.CopyTo(stream);
        RequireLittleEndian();
        foreach (var t in Tensors)
        {
            switch (t.RawData)
            {
                case float[] f: stream.Write(MemoryMarshal.AsBytes(f.AsSpan())); break;
                case double[] d: stream.Write(MemoryMarshal.AsBytes(d.AsSpan())); break;
                case int[] n: stream.Write(MemoryMarshal.AsBytes(n.AsSpan())); break;
                case long[] l: stream.Write(MemoryMarshal.AsBytes(l.AsSpan())); break;
                default: throw new InvalidOperationException($"Tensor '{t.Name}' has an unsupported element array.");
            }
        }
    }

    /// <summary>Serializes to a byte array.</summary>
    public byte[] ToBytes()
    {
        using var ms = new MemoryStream();
        WriteTo(ms);
        return ms.ToArray();
    }

    internal static int ElementSize(SafetensorsDType dtype) => dtype is SafetensorsDType.F32 or SafetensorsDType.I32 ? 4 : 8;

    private static void ReadMetadata(string source, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Bad(source, "__metadata__ is not an object of strings");
        }

        foreach (var m in value.EnumerateObject())
        {
            if (m.Value.ValueKind != JsonValueKind.String)
            {
                throw Bad(source, $"__metadata__ field '{m.Name}' is {m.Value.ValueKind}; expected a string");
            }

            if (!metadata.TryAdd(m.Name, m.Value.GetString()!))
            {
                throw Bad(source, $"__metadata__ names '{m.Name}' twice");
            }
        }
    }

    private static (string Name, SafetensorsDType DType, int[] Shape, long Begin, long End) ReadEntry(string source, string name, JsonElement value)
    {
        if (name.Length == 0)
        {
            throw Bad(source, "a tensor has an empty name");
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Bad(source, $"tensor '{name}' entry is {value.ValueKind}; expected an object with dtype, shape, data_offsets");
        }

        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
        {
            throw Bad(source, $"tensor '{name}' has no string 'dtype'");
        }

        string dtypeText = dtypeElement.GetString()!;
        SafetensorsDType dtype = dtypeText switch
        {
            "F32" => SafetensorsDType.F32,
            "F64" => SafetensorsDType.F64,
            "I32" => SafetensorsDType.I32,
            "I64" => SafetensorsDType.I64,
            _ => throw Bad(source, $"tensor '{name}' has dtype '{dtypeText}'; supported: F32, F64, I32, I64"),
        };

        if (!value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
        {
            throw Bad(source, $"tensor '{name}' has no 'shape' array");
        }

        var shape = new int[shapeElement.GetArrayLength()];
        long count = 1;
        int k = 0;
        foreach (var d in shapeElement.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out int dim) || dim < 0)
            {
                throw Bad(source, $"tensor '{name}' shape entry {k} is {d.GetRawText()}; expected a non-negative int32");
            }

            shape[k++] = dim;
            count *= dim;
            if (count > int.MaxValue)
            {
                throw Bad(source, $"tensor '{name}' shape [{string.Join(", ", shape.Take(k))}…] has more than {int.MaxValue} elements");
            }
        }

        if (!value.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2
            || !offsets[0].TryGetInt64(out long begin) || !offsets[1].TryGetInt64(out long end))
        {
            throw Bad(source, $"tensor '{name}' has no 'data_offsets' pair of integers");
        }

        if (begin < 0 || end < begin)
        {
            throw Bad(source, $"tensor '{name}' has data_offsets [{begin}, {end}]; expected 0 ≤ begin ≤ end");
        }

        long expectedBytes = count * ElementSize(dtype);
        if (end - begin != expectedBytes)
        {
            throw Bad(source, string.Create(CultureInfo.InvariantCulture, $"tensor '{name}' spans {end - begin} bytes but {dtypeText} [{string.Join(", ", shape)}] needs {expectedBytes}"));
        }

        foreach (var p in value.EnumerateObject())
        {
            if (p.Name is not ("dtype" or "shape" or "data_offsets"))
            {
                throw Bad(source, $"tensor '{name}' has an unknown field '{p.Name}'");
            }
        }

        return (name, dtype, shape, begin, end);
    }

    private static T[] ToArray<T>(ReadOnlySpan<byte> raw)
        where T : unmanaged
    {
        RequireLittleEndian();
        return MemoryMarshal.Cast<byte, T>(raw).ToArray();
    }

    private static void RequireLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("Safetensors I/O assumes a little-endian machine.");
        }
    }

    private static InvalidDataException Bad(string source, string problem) => new($"{source}: {problem}.");
}
