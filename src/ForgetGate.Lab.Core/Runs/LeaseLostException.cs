namespace ForgetGate.Lab.Core.Runs;

/// <summary>A fenced write touched no row: another worker owns the run now (or it was rescued); stop the run.</summary>
public sealed class LeaseLostException : Exception
{
    /// <summary>Creates the exception.</summary>
    public LeaseLostException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public LeaseLostException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public LeaseLostException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a run whose lease was lost.</summary>
    public static LeaseLostException ForRun(long runId) =>
        new($"Lease on run {runId} was lost: another worker owns it or it was rescued; this worker stops the run.");
}
