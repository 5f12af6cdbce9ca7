namespace ForgetGate.Lab.Storage;

/// <summary>Connection settings common to providers.</summary>
public sealed record StoreOptions
{
    /// <summary>How long a statement waits for a lock held by another process before failing.</summary>
    public TimeSpan BusyTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Whether connections are pooled (closed connections kept open for reuse).</summary>
    public bool Pooling { get; init; } = true;

    /// <summary>SQLite only: cap the database at this many pages (a quota; tests use it to simulate a full disk).</summary>
    public long? MaxPageCount { get; init; }
}
