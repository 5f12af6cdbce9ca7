namespace ForgetGate.Lab.Numerics.Serialization;

/// <summary>Element types this reader/writer handles (safetensors dtype strings).</summary>
public enum SafetensorsDType
{
    /// <summary>IEEE float32, "F32".</summary>
    F32,

    /// <summary>IEEE float64, "F64".</summary>
    F64,

    /// <summary>Signed 32-bit integer, "I32".</summary>
    I32,

    /// <summary>Signed 64-bit integer, "I64" (PyTorch's default integer dtype).</summary>
    I64,
}
