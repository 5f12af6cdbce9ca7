namespace ForgetGate.Lab.Core.Specs;

/// <summary>One problem in a spec: where (file, line, column when known, field path), what value, and what was expected.</summary>
public sealed record SpecError(string File, int Line, string Path, string Message, int Column = 0)
{
    /// <inheritdoc />
    public override string ToString() =>
        Line > 0 && Column > 0 ? $"{File}:{Line}:{Column}: {Path}: {Message}"
        : Line > 0 ? $"{File}:{Line}: {Path}: {Message}" : $"{File}: {Path}: {Message}";
}

/// <summary>A spec that cannot produce runs; <see cref="Errors"/> lists every problem found, not just the first.</summary>
public sealed class SpecValidationException : Exception
{
    /// <summary>Creates the exception from the errors found.</summary>
    public SpecValidationException(IReadOnlyList<SpecError> errors)
        : base(Format(errors)) => Errors = errors;

    /// <summary>Creates an exception with a message only.</summary>
    public SpecValidationException()
        : this([])
    {
    }

    /// <summary>Creates an exception with a single message.</summary>
    public SpecValidationException(string message)
        : base(message) => Errors = [];

    /// <summary>Creates an exception with a single message and cause.</summary>
    public SpecValidationException(string message, Exception innerException)
        : base(message, innerException) => Errors = [];

    /// <summary>Every problem found.</summary>
    public IReadOnlyList<SpecError> Errors { get; }

    private static string Format(IReadOnlyList<SpecError> errors) => errors.Count switch
    {
        0 => "The spec is invalid.",
        1 => errors[0].ToString(),
        _ => $"{errors.Count} problems in the spec:{Environment.NewLine}" + string.Join(Environment.NewLine, errors.Select(e => "  " + e)),
    };
}
