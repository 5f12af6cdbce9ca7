using System.Buffers.Binary;

namespace ForgetGate.Lab.Storage;

/// <summary>
/// The unit × time matrix of <c>gate_steps.sample_gates</c> as IEEE half floats, little-endian: 2 bytes a value
/// (a 128-unit, 784-step pixel sequence is 200 KB instead of 400 KB). A half keeps 11 significant bits, a relative error
/// of at most 2⁻¹¹ ≈ 4.9e-4, far below what a heatmap's colour scale can show; values keep their sign and range.
/// </summary>
public static class GateStepCodec
{
    /// <summary>Encodes <paramref name="values"/> as halves.</summary>
    public static byte[] EncodeHalves(IReadOnlyList<float> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var bytes = new byte[values.Count * 2];
        for (int i = 0; i < values.Count; i++)
        {
            BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(i * 2), (Half)values[i]);
        }

        return bytes;
    }

    /// <summary>Decodes halves written by <see cref="EncodeHalves"/>; an odd byte count is corrupt data.</summary>
    public static float[] DecodeHalves(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.Length % 2 != 0)
        {
            throw new InvalidDataException($"gate_steps.sample_gates has {bytes.Length} bytes; expected 2 per value (IEEE half floats).");
        }

        var values = new float[bytes.Length / 2];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes.AsSpan(i * 2));
        }

        return values;
    }
}
