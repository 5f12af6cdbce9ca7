using System.Buffers.Binary;
using System.Text;
using ForgetGate.Lab.Numerics.Serialization;

namespace ForgetGate.Lab.Numerics.Tests.Serialization;

public sealed class SafetensorsFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fg-st-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Raw file: 8-byte LE header length, header text, data bytes.</summary>
    internal static byte[] RawFile(string header, byte[] data, ulong? headerLength = null)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, headerLength ?? (ulong)h.Length);
        h.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + h.Length);
        return bytes;
    }

    private string WriteRaw(string header, byte[] data, ulong? headerLength = null)
    {
        var path = Path.Combine(_dir, "bad.safetensors");
        File.WriteAllBytes(path, RawFile(header, data, headerLength));
        return path;
    }

    private static void AssertRejected(string path, string expectedFragment)
    {
        var ex = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Read(path));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains(expectedFragment, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteRead_AllDTypesAndMetadata_RoundTripExactly()
    {
        var file = new SafetensorsFile(
            [
                SafetensorsTensor.FromFloat32("a", [2, 3], [1f, -2f, 3.5f, float.Epsilon, 0f, -0f]),
                SafetensorsTensor.FromFloat64("b", [1], [Math.PI]),
                SafetensorsTensor.FromInt32("c", [], [42]),
                SafetensorsTensor.FromInt64("d", [2], [long.MinValue, 7]),
                SafetensorsTensor.FromFloat32("empty", [0, 4], []),
            ],
            new Dictionary<string, string> { ["k"] = "v ü \"q\"" });
        var path = Path.Combine(_dir, "ok.safetensors");
        file.Write(path);
        var back = SafetensorsFile.Read(path);
        Assert.Equal(file.Tensors.Select(t => t.Name).Order(), back.Tensors.Select(t => t.Name).Order());
        Assert.Equal(file.Get("a").AsFloat32(), back.GetFloat32("a", 2, 3));
        Assert.Equal([Math.PI], back.Get("b").AsFloat64());
        Assert.Equal([42], back.Get("c").AsInt32());
        Assert.Empty(back.Get("c").Shape);
        Assert.Equal(SafetensorsDType.I64, back.Get("d").DType);
        Assert.Throws<InvalidDataException>(() => back.Get("d").AsInt32()); // long.MinValue does not fit
        Assert.Equal("v ü \"q\"", back.Metadata["k"]);
        Assert.Equal(0, (new FileInfo(path).Length - back.Tensors.Sum(t => (long)t.Length * (t.DType is SafetensorsDType.F32 or SafetensorsDType.I32 ? 4 : 8))) % 8);
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }

    [Fact]
    public void Read_HandWrittenFile_ParsesHeaderOffsetsAndData()
    {
        var data = new byte[12];
        BinaryPrimitives.WriteSingleLittleEndian(data, 1.5f);
        BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(4), -3);
        var path = WriteRaw("""{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"y":{"dtype":"I64","shape":[1],"data_offsets":[4,12]},"__metadata__":{"m":"1"}}   """, data);
        var f = SafetensorsFile.Read(path);
        Assert.Equal([1.5f], f.GetFloat32("x", 1));
        Assert.Equal([-3], f.Get("y").AsInt32());
        Assert.Equal("1", f.Metadata["m"]);
    }

    [Fact]
    public void Read_Truncated_ThrowsNamingFile()
    {
        var path = Path.Combine(_dir, "ok.safetensors");
        new SafetensorsFile([SafetensorsTensor.FromFloat32("a", [4], [1f, 2f, 3f, 4f])]).Write(path);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^3]);
        AssertRejected(path, "truncated");
    }

    [Fact]
    public void Read_ShorterThanLengthPrefix_Throws()
    {
        var path = Path.Combine(_dir, "tiny.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        AssertRejected(path, "shorter than the 8-byte header length");
    }

    [Fact]
    public void Read_HeaderLengthOverLimit_Throws() =>
        AssertRejected(WriteRaw("{}", [], headerLength: 200_000_000), "exceeds the limit");

    [Fact]
    public void Read_HeaderLengthBeyondFile_Throws() =>
        AssertRejected(WriteRaw("{}", [], headerLength: 5000), "does not fit in the file");

    [Fact]
    public void Read_BadJson_Throws() =>
        AssertRejected(WriteRaw("""{"a":{"dtype":"F32",""", new byte[4]), "not well-formed JSON");

    [Fact]
    public void Read_OverlappingOffsets_Throws() =>
        AssertRejected(
            WriteRaw("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", new byte[12]),
            "overlaps");

    [Fact]
    public void Read_GapBetweenTensors_Throws() =>
        AssertRejected(
            WriteRaw("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""", new byte[12]),
            "gap");

    [Fact]
    public void Read_TrailingBytes_Throws() =>
        AssertRejected(WriteRaw("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", new byte[8]), "trailing bytes");

    [Fact]
    public void Read_LengthDisagreesWithShape_Throws() =>
        AssertRejected(WriteRaw("""{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", new byte[8]), "needs 12");

    [Fact]
    public void Read_UnsupportedDType_Throws() =>
        AssertRejected(WriteRaw("""{"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}""", new byte[4]), "dtype 'BF16'");

    [Fact]
    public void Read_NegativeShape_Throws() =>
        AssertRejected(WriteRaw("""{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", new byte[4]), "non-negative");

    [Fact]
    public void Read_NonStringMetadata_Throws() =>
        AssertRejected(WriteRaw("""{"__metadata__":{"n":3}}""", []), "expected a string");

    [Fact]
    public void Read_DuplicateName_Throws() =>
        AssertRejected(
            WriteRaw("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", new byte[8]),
            "twice");

    [Fact]
    public void GetFloat32_WrongDTypeOrShape_ThrowsNamingTensor()
    {
        var f = new SafetensorsFile([SafetensorsTensor.FromInt32("i", [2], [1, 2]), SafetensorsTensor.FromFloat32("x", [2], [1f, 2f])], source: "f.safetensors");
        Assert.Contains("'i' has dtype I32; expected F32", Assert.Throws<InvalidDataException>(() => f.GetFloat32("i")).Message, StringComparison.Ordinal);
        Assert.Contains("'x' has shape [2]; expected [1, 2]", Assert.Throws<InvalidDataException>(() => f.GetFloat32("x", 1, 2)).Message, StringComparison.Ordinal);
        Assert.Contains("no tensor named 'zz'", Assert.Throws<InvalidDataException>(() => f.Get("zz")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_OverExistingFile_ReplacesIt()
    {
        var path = Path.Combine(_dir, "w.safetensors");
        new SafetensorsFile([SafetensorsTensor.FromFloat32("a", [1], [1f])]).Write(path);
        new SafetensorsFile([SafetensorsTensor.FromFloat32("b", [1], [2f])]).Write(path);
        var f = SafetensorsFile.Read(path);
        Assert.False(f.Contains("a"));
        Assert.Equal([2f], f.GetFloat32("b"));
    }
}
