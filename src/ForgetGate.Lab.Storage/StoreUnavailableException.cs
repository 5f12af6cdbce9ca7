namespace ForgetGate.Lab.Storage;

/// <summary>Why the store cannot take writes right now.</summary>
public enum StoreFault
{
    /// <summary>The database file or its file system is read-only.</summary>
    ReadOnly,

    /// <summary>The disk (or the database's size limit) is full.</summary>
    Full,

    /// <summary>The database cannot be opened or an I/O error occurred.</summary>
    Unavailable,
}

/// <summary>The store refused a write for an environmental reason (read-only, full, I/O); retry later, nothing was written.</summary>
public sealed class StoreUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public StoreUnavailableException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public StoreUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public StoreUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a classified fault.</summary>
    public StoreUnavailableException(StoreFault fault, string message, Exception innerException)
        : base(message, innerException)
    {
        Fault = fault;
    }

    /// <summary>The kind of fault.</summary>
    public StoreFault Fault { get; } = StoreFault.Unavailable;
}
