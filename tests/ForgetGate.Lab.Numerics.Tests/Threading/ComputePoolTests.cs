using ForgetGate.Lab.Numerics.Threading;

namespace ForgetGate.Lab.Numerics.Tests.Threading;

public sealed class ComputePoolTests
{
    private sealed class Record(int workers) : IParallelWork
    {
        public int[] Calls { get; } = new int[workers];

        public int[] Threads { get; } = new int[workers];

        public void Execute(int worker, int count)
        {
            Interlocked.Increment(ref Calls[worker]);
            Threads[worker] = Environment.CurrentManagedThreadId;
        }
    }

    /// <summary>Every worker increments, then all meet at a barrier, many times: only works if all run at once.</summary>
    private sealed class Rendezvous(int workers, int rounds) : IParallelWork, IDisposable
    {
        private readonly Barrier _barrier = new(workers);

        public int Total;

        public void Dispose() => _barrier.Dispose();

        public void Execute(int worker, int count)
        {
            for (int r = 0; r < rounds; r++)
            {
                Interlocked.Increment(ref Total);
                _barrier.SignalAndWait(TimeSpan.FromSeconds(10));
            }
        }
    }

    private sealed class Throws : IParallelWork
    {
        public void Execute(int worker, int count)
        {
            if (worker == count - 1)
            {
                throw new InvalidOperationException($"worker {worker} failed");
            }
        }
    }

    private sealed class Counts(int threads) : IParallelWork
    {
        public int[] Calls { get; } = new int[threads];

        public int[] Seen { get; } = new int[threads];

        public void Execute(int worker, int count)
        {
            Interlocked.Increment(ref Calls[worker]);
            Seen[worker] = count;
        }
    }

    [Theory]
    [InlineData(4, 1)]
    [InlineData(4, 3)]
    [InlineData(4, 4)]
    public void Run_WithFewerWorkers_WakesOnlyThose_AndTellsThemTheCount(int threads, int workers)
    {
        using var pool = new ComputePool(threads);
        for (int i = 0; i < 50; i++)
        {
            var counts = new Counts(threads);
            pool.Run(counts, workers);
            Assert.Equal(Enumerable.Range(0, threads).Select(w => w < workers ? 1 : 0), counts.Calls);
            Assert.Equal(Enumerable.Range(0, threads).Select(w => w < workers ? workers : 0), counts.Seen);
        }

        // The full pool still runs everyone afterwards.
        var all = new Counts(threads);
        pool.Run(all);
        Assert.All(all.Calls, c => Assert.Equal(1, c));
    }

    [Fact]
    public void Run_WorkerCountOutsideThePool_Throws()
    {
        using var pool = new ComputePool(2);
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Run(new Counts(2), 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Run(new Counts(2), 3));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void Run_EveryWorkerOnceOnItsOwnThread(int threads)
    {
        using var pool = new ComputePool(threads);
        for (int i = 0; i < 100; i++)
        {
            var record = new Record(threads);
            pool.Run(record);
            Assert.All(record.Calls, c => Assert.Equal(1, c));
            Assert.Equal(Environment.CurrentManagedThreadId, record.Threads[0]);
            Assert.Equal(threads, record.Threads.Distinct().Count());
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void Run_WorkersRunConcurrently_SoABarrierInsideWorks(int threads)
    {
        using var pool = new ComputePool(threads);
        using var work = new Rendezvous(threads, rounds: 200);
        pool.Run(work);
        Assert.Equal(threads * 200, work.Total);
    }

    [Fact]
    public void Run_WorkerException_ReachesTheCallerAndPoolStaysUsable()
    {
        using var pool = new ComputePool(3);
        var e = Assert.Throws<InvalidOperationException>(() => pool.Run(new Throws()));
        Assert.Equal("worker 2 failed", e.Message);
        var record = new Record(3);
        pool.Run(record);
        Assert.All(record.Calls, c => Assert.Equal(1, c));
    }

    [Fact]
    public void Run_AfterWarmUp_AllocatesNothing()
    {
        using var pool = new ComputePool(2);
        var record = new Record(2);
        for (int i = 0; i < 50; i++)
        {
            pool.Run(record);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            pool.Run(record);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Dispose_StopsWorkers_ThenRunThrows()
    {
        var pool = new ComputePool(2);
        pool.Run(new Record(2));
        pool.Dispose();
        Assert.Throws<ObjectDisposedException>(() => pool.Run(new Record(2)));
    }
}
