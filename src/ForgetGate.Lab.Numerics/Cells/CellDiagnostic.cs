using System.Globalization;

namespace ForgetGate.Lab.Numerics.Cells;

/// <summary>A place in a cell's source: file, 1-based line and column (0 when unknown).</summary>
public readonly record struct CellLocation(string File, int Line, int Column)
{
    /// <summary>A location with no line (a definition built in code or read from a checkpoint).</summary>
    public static CellLocation None(string file) => new(file, 0, 0);

    /// <summary>The location <paramref name="columns"/> characters to the right.</summary>
    public CellLocation Shift(int columns) => Line == 0 ? this : this with { Column = Column + columns };

    /// <inheritdoc />
    public override string ToString() => Line == 0
        ? File
        : string.Create(CultureInfo.InvariantCulture, $"{File}:{Line}:{Column}");
}

/// <summary>One problem found in a cell definition, with where it is.</summary>
public sealed record CellDiagnostic(CellLocation Location, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"{Location}: {Message}";
}

/// <summary>A cell definition that does not check: every problem found, all at once.</summary>
public sealed class CellDefinitionException : Exception
{
    /// <summary>Creates the exception from the collected diagnostics (at least one).</summary>
    public CellDefinitionException(IReadOnlyList<CellDiagnostic> diagnostics)
        : base(Format(diagnostics))
    {
        Diagnostics = diagnostics;
    }

    /// <summary>Creates the exception with a message only.</summary>
    public CellDefinitionException(string message)
        : base(message)
    {
        Diagnostics = [];
    }

    /// <summary>Creates the exception with a message and inner exception.</summary>
    public CellDefinitionException(string message, Exception innerException)
        : base(message, innerException)
    {
        Diagnostics = [];
    }

    /// <summary>Creates an empty exception.</summary>
    public CellDefinitionException()
    {
        Diagnostics = [];
    }

    /// <summary>Every problem, in source order.</summary>
    public IReadOnlyList<CellDiagnostic> Diagnostics { get; }

    private static string Format(IReadOnlyList<CellDiagnostic> diagnostics)
    {
        ArgumentNullException.ThrowIfNull(diagnostics);
        return diagnostics.Count == 1
            ? diagnostics[0].ToString()
            : $"{diagnostics.Count} problems in the cell definition: {string.Join("; ", diagnostics)}";
    }
}
