using System.Buffers.Binary;

namespace ForgetGate.Lab.Reporting.TensorBoard;

/// <summary>
/// TFRecord framing, the container of TensorBoard event files: for each record a little-endian u64 length,
/// the masked CRC-32C of those 8 bytes, the payload, and the masked CRC-32C of the payload.
/// </summary>
public static class TfRecord
{
    /// <summary>Appends one framed record holding <paramref name="payload"/>.</summary>
    public static void Write(Stream stream, ReadOnlySpan<byte> payload)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], Crc32C.Masked(header[..8]));
        stream.Write(header);
        stream.Write(payload);
        Span<byte> footer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, Crc32C.Masked(payload));
        stream.Write(footer);
    }

    /// <summary>
    /// Every record's payload, in order. A truncated file, a length or payload whose CRC does not match, is an
    /// <see cref="InvalidDataException"/> naming <paramref name="source"/>, the record's index and its byte offset.
    /// </summary>
    public static IReadOnlyList<byte[]> ReadAll(ReadOnlySpan<byte> file, string source)
    {
        var records = new List<byte[]>();
        int offset = 0;
        while (offset < file.Length)
        {
            int index = records.Count;
            if (file.Length - offset < 12)
            {
                throw new InvalidDataException($"{source}: record {index} at byte {offset} is truncated ({file.Length - offset} bytes left, a record header has 12).");
            }

            var header = file.Slice(offset, 12);
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(header);
            uint lengthCrc = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
            if (lengthCrc != Crc32C.Masked(header[..8]))
            {
                throw new InvalidDataException($"{source}: record {index} at byte {offset}: the length's CRC-32C does not match (corrupt file).");
            }

            if (length > (ulong)(file.Length - offset - 16))
            {
                throw new InvalidDataException($"{source}: record {index} at byte {offset} says {length} payload bytes, but only {file.Length - offset - 16} follow (truncated file).");
            }

            var payload = file.Slice(offset + 12, (int)length);
            uint payloadCrc = BinaryPrimitives.ReadUInt32LittleEndian(file[(offset + 12 + (int)length)..]);
            if (payloadCrc != Crc32C.Masked(payload))
            {
                throw new InvalidDataException($"{source}: record {index} at byte {offset}: the payload's CRC-32C does not match (corrupt file).");
            }

            records.Add(payload.ToArray());
            offset += 16 + (int)length;
        }

        return records;
    }
}
