namespace ForgetGate.Lab.Core.Runs;

/// <summary>A failure a retry cannot fix (bad spec, missing dataset): the run is failed at once with this message.</summary>
public sealed class NonRetryableRunException : Exception
{
    /// <summary>Creates the exception.</summary>
    public NonRetryableRunException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public NonRetryableRunException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public NonRetryableRunException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
