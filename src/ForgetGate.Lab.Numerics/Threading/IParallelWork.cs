namespace ForgetGate.Lab.Numerics.Threading;

/// <summary>A unit of work that every worker of a <see cref="ComputePool"/> executes once per <see cref="ComputePool.Run"/>.</summary>
/// <remarks>Implementations are preallocated objects so that dispatch allocates nothing.</remarks>
public interface IParallelWork
{
    /// <summary>Runs the share of worker <paramref name="worker"/> (0-based) out of <paramref name="workers"/>.</summary>
    void Execute(int worker, int workers);
}
