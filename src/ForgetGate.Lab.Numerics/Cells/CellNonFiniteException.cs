namespace ForgetGate.Lab.Numerics.Cells;

/// <summary>
/// A cell file's step produced NaN or ±∞ during a forward pass; the message names the cell, layer, time step, batch
/// row, unit and the first expression that went non-finite. The runner adds the task and training step.
/// </summary>
public sealed class CellNonFiniteException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CellNonFiniteException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public CellNonFiniteException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public CellNonFiniteException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The expression (step line) that first went non-finite, as written.</summary>
    public string Expression { get; init; } = "";
}
