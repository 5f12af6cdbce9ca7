using System.Text;
using ForgetGate.Lab.Reporting.TensorBoard;

namespace ForgetGate.Lab.Reporting.Tests.TensorBoard;

/// <summary>CRC-32C and TFRecord framing.</summary>
public sealed class TfRecordTests
{
    [Fact]
    public void Compute_CheckValue_IsTheCastagnoliCheck()
    {
        // The standard check value of CRC-32C (RFC 3720 / the CRC catalogue): "123456789" → 0xE3069283.
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
        Assert.Equal(0xE3069283u, Crc32C.ComputeByTable("123456789"u8));
        Assert.Equal(0u, Crc32C.Compute([]));
    }

    [Fact]
    public void Compute_HardwareAndTable_AgreeOnEveryLengthAndOffset()
    {
        var data = new byte[300];
        new Random(18).NextBytes(data);
        for (int offset = 0; offset < 8; offset++)
        {
            for (int length = 0; length + offset <= data.Length; length += 7)
            {
                var span = data.AsSpan(offset, length);
                Assert.Equal(Crc32C.ComputeByTable(span), Crc32C.Compute(span));
            }
        }
    }

    [Fact]
    public void ReadAll_CorruptedByte_IsDetectedAndNamed()
    {
        using var stream = new MemoryStream();
        TfRecord.Write(stream, Encoding.UTF8.GetBytes("first record"));
        TfRecord.Write(stream, Encoding.UTF8.GetBytes("second record, a little longer"));
        var file = stream.ToArray();
        Assert.Equal(2, TfRecord.ReadAll(file, "ok").Count);
        int second = 16 + "first record".Length;

        // A flipped bit anywhere is caught: in the second payload, in its length, in the first payload's CRC.
        foreach (var (at, what) in new[] { (second + 12 + 3, "payload's CRC-32C"), (second + 1, "length's CRC-32C"), (12 + "first record".Length + 2, "payload's CRC-32C") })
        {
            var bad = (byte[])file.Clone();
            bad[at] ^= 0x10;
            var e = Assert.Throws<InvalidDataException>(() => TfRecord.ReadAll(bad, "events.bad"));
            Assert.Contains("events.bad", e.Message, StringComparison.Ordinal);
            Assert.Contains(what, e.Message, StringComparison.Ordinal);
        }

        var truncated = Assert.Throws<InvalidDataException>(() => TfRecord.ReadAll(file.AsSpan(0, file.Length - 3), "events.cut"));
        Assert.Contains("record 1", truncated.Message, StringComparison.Ordinal);
    }
}
