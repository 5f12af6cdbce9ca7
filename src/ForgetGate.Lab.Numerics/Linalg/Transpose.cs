namespace ForgetGate.Lab.Numerics.Linalg;

/// <summary>Whether a GEMM operand is used as stored or transposed.</summary>
public enum Transpose
{
    /// <summary>Use the row-major matrix as stored.</summary>
    No = 0,

    /// <summary>Use the transpose of the row-major matrix.</summary>
    Yes = 1,
}
