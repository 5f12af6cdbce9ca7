using System.Runtime.ExceptionServices;

namespace ForgetGate.Lab.Numerics.Threading;

/// <summary>
/// A fixed set of workers that run an <see cref="IParallelWork"/> together: the calling thread is worker 0 and
/// workers 1..N−1 are dedicated background threads that spin briefly, then sleep, between jobs.
/// </summary>
/// <remarks>
/// Every worker of a <see cref="Run"/> executes at the same time, so work may synchronise its workers with a
/// barrier (the recurrent layers exchange h once per time step). A hand-off is a semaphore release to a worker
/// that is usually still spinning; nothing is allocated per call. One <see cref="Run"/> at a time per pool.
/// </remarks>
public sealed class ComputePool : IDisposable
{
    private readonly Thread[] _threads;
    private readonly SemaphoreSlim[] _start;
    private readonly Lock _gate = new();
    private IParallelWork? _work;
    private int _workers;
    private int _remaining;
    private ExceptionDispatchInfo? _error;
    private volatile bool _disposed;

    /// <summary>Creates a pool of <paramref name="threads"/> workers, the caller included.</summary>
    public ComputePool(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        Threads = threads;
        _threads = new Thread[threads - 1];
        _start = new SemaphoreSlim[threads - 1];
        for (int i = 0; i < _threads.Length; i++)
        {
            _start[i] = new SemaphoreSlim(0);
            int worker = i + 1;
            _threads[i] = new Thread(() => Loop(worker)) { IsBackground = true, Name = $"forgetgate-compute-{worker}" };
            _threads[i].Start();
        }
    }

    /// <summary>A pool that runs everything on the calling thread.</summary>
    public static ComputePool SingleThreaded { get; } = new(1);

    /// <summary>Number of workers, the calling thread included.</summary>
    public int Threads { get; }

    /// <summary>Runs <paramref name="work"/> on every worker and returns when all have finished; the first exception is rethrown.</summary>
    public void Run(IParallelWork work) => Run(work, Threads);

    /// <summary>
    /// Runs <paramref name="work"/> on the first <paramref name="workers"/> workers only (the caller is worker 0), as
    /// <c>Execute(w, workers)</c>; the others are not woken. For work too small to pay for every thread: a hand-off
    /// to a worker that has nothing to do still costs the caller a release and the phase a straggler.
    /// </summary>
    public void Run(IParallelWork work, int workers)
    {
        ArgumentNullException.ThrowIfNull(work);
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(workers, Threads);
        if (workers == 1)
        {
            work.Execute(0, 1);
            return;
        }

        lock (_gate)
        {
            _work = work;
            _workers = workers;
            _error = null;
            Volatile.Write(ref _remaining, workers - 1);
            for (int i = 0; i < workers - 1; i++)
            {
                _start[i].Release();
            }

            try
            {
                work.Execute(0, workers);
            }
#pragma warning disable CA1031 // Recorded and rethrown after every worker has finished.
            catch (Exception e)
#pragma warning restore CA1031
            {
                Interlocked.CompareExchange(ref _error, ExceptionDispatchInfo.Capture(e), null);
            }

            var spin = default(SpinWait);
            while (Volatile.Read(ref _remaining) != 0)
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }

            _work = null;
            _error?.Throw();
        }
    }

    private void Loop(int worker)
    {
        var start = _start[worker - 1];
        while (true)
        {
            start.Wait();
            if (_disposed)
            {
                return;
            }

            try
            {
                _work!.Execute(worker, _workers);
            }
#pragma warning disable CA1031 // Handed to the caller of Run.
            catch (Exception e)
#pragma warning restore CA1031
            {
                Interlocked.CompareExchange(ref _error, ExceptionDispatchInfo.Capture(e), null);
            }
            finally
            {
                Interlocked.Decrement(ref _remaining);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed || ReferenceEquals(this, SingleThreaded))
        {
            return;
        }

        _disposed = true;
        foreach (var start in _start)
        {
            start.Release();
        }

        foreach (var thread in _threads)
        {
            thread.Join();
        }

        foreach (var start in _start)
        {
            start.Dispose();
        }
    }
}
