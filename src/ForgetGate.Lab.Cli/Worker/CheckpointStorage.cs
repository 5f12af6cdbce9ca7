using System.Globalization;

namespace ForgetGate.Lab.Cli.Worker;

/// <summary>
/// Tells an outage of the checkpoint storage (disk full, read-only, not writable) from a failure of the run itself.
/// A run that cannot write its checkpoint is not at fault, and another attempt fails the same way within a second, so
/// the worker treats it like a full store: it gives the attempt back, keeps the run resumable and waits with backoff
/// (issue 12, defect 6: before, three attempts were used up in 0.3 s and the runs ended failed).
/// </summary>
internal static class CheckpointStorage
{
    // errno values on Linux: .NET reports an I/O error it has no special exception for as an IOException whose
    // HResult is the raw errno (ENOSPC and EROFS among them; EACCES/EPERM become UnauthorizedAccessException).
    private const int Enospc = 28;
    private const int Erofs = 30;
    private const int Edquot = 122;

    /// <summary>How many bytes the probe writes: a page or block, so a disk with only a partial block left reads as full.</summary>
    private const int ProbeBytes = 64 * 1024;

    /// <summary>
    /// Why <paramref name="error"/> means the checkpoint storage under <paramref name="directory"/> cannot be written, or
    /// null when the run failed for a reason of its own. Full (ENOSPC, EDQUOT) and read-only (EROFS) are conclusive:
    /// nothing else a run writes goes to a file system (the store reports its own faults). Any other I/O or permission
    /// error counts only when a probe write into <paramref name="directory"/> fails too (EACCES, a path below a file).
    /// </summary>
    public static string? Outage(Exception error, string directory)
    {
        Exception? io = null;
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is IOException { HResult: Enospc or Edquot or Erofs } conclusive)
            {
                return Describe(conclusive);
            }

            io ??= e is IOException or UnauthorizedAccessException ? e : null;
        }

        return io is null ? null : Probe(directory);
    }

    /// <summary>Writes, syncs and deletes a probe file in <paramref name="directory"/> (created if missing); null when that works, else why not.</summary>
    public static string? Probe(string directory)
    {
        string probe = Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $".forgetgate-probe-{Environment.ProcessId}-{Guid.NewGuid():N}"));
        try
        {
            Directory.CreateDirectory(directory);
            using (var stream = new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.None))
            {
                stream.Write(new byte[ProbeBytes]);
                stream.Flush(flushToDisk: true); // delayed allocation reports ENOSPC at the latest here
            }

            File.Delete(probe);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try
            {
                File.Delete(probe);
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
            {
            }

            return Describe(e);
        }
    }

    /// <summary>"is full (No space left on device : '/x')" and the like: what the kernel said, in words a reader acts on.</summary>
    private static string Describe(Exception e)
    {
        string what = e switch
        {
            IOException { HResult: Enospc or Edquot } => "is full",
            IOException { HResult: Erofs } => "is read-only",
            UnauthorizedAccessException => "is not writable (permission denied)",
            _ => "cannot be written",
        };
        // .NET appends " : 'file'" to the kernel's words; the file (a temporary name or the probe) says nothing the
        // folder in the log line does not, so only the kernel's words are kept.
        string message = e.Message.Trim();
        int file = message.IndexOf(" : '", StringComparison.Ordinal);
        return $"{what} ({(file > 0 ? message[..file] : message).TrimEnd('.')})";
    }
}

/// <summary>How the worker ended when it stopped on its own account: read by <c>run</c> to choose its exit code.</summary>
internal sealed class WorkerOutcome
{
    private string? _gaveUp;

    /// <summary>The sentence saying why the worker stopped waiting for an outage (<see cref="WorkerOptions.OutageWaitSeconds"/>), or null.</summary>
    public string? GaveUp => Volatile.Read(ref _gaveUp);

    /// <summary>Records the first reason only: several slots may reach the bound together.</summary>
    public bool TrySetGaveUp(string message) => Interlocked.CompareExchange(ref _gaveUp, message, null) is null;
}
