namespace ForgetGate.Lab.Numerics.Threading;

/// <summary>
/// A fixed set of workers (the calling thread is worker 0) that run an <see cref="IParallelWork"/> together.
/// </summary>
/// <remarks>Placeholder dispatch via Parallel.For; to be replaced by persistent spinning workers.</remarks>
public sealed class ComputePool : IDisposable
{
    /// <summary>Creates a pool of <paramref name="threads"/> workers, the caller included.</summary>
    public ComputePool(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        Threads = threads;
    }

    /// <summary>A pool that runs everything on the calling thread.</summary>
    public static ComputePool SingleThreaded { get; } = new(1);

    /// <summary>Number of workers, the calling thread included.</summary>
    public int Threads { get; }

    /// <summary>Runs <paramref name="work"/> on every worker and returns when all have finished.</summary>
    public void Run(IParallelWork work)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (Threads == 1)
        {
            work.Execute(0, 1);
            return;
        }

        int n = Threads;
        Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = n }, i => work.Execute(i, n));
    }

    /// <inheritdoc />
    public void Dispose()
    {
    }
}
