namespace ForgetGate.Lab.Numerics.Engines;

/// <summary>
/// The selected engine cannot run here (unknown name, not part of this program, or its native library does not load).
/// The message is one sentence naming what is missing and the fix; retrying on the same machine cannot help.
/// </summary>
public sealed class EngineUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public EngineUnavailableException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public EngineUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public EngineUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
