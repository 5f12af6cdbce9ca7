namespace ForgetGate.Lab.Numerics.Models;

/// <summary>
/// Reusable barrier for the workers of one <see cref="Threading.ComputePool.Run"/>: the recurrent loop crosses it
/// once per time step to publish h. Spins, then yields, so an oversubscribed machine still makes progress.
/// </summary>
internal sealed class SpinBarrier
{
    private int _participants;
    private int _remaining;
    private int _phase;

    public SpinBarrier(int participants)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(participants, 1);
        _participants = participants;
        _remaining = participants;
    }

    /// <summary>Sets the number of participants for the next phase; only between phases, when no one is waiting.</summary>
    public void Reset(int participants)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(participants, 1);
        _participants = participants;
        _remaining = participants;
    }

    /// <summary>Blocks until every participant has arrived; all writes before the call are visible after it.</summary>
    public void SignalAndWait()
    {
        if (_participants == 1)
        {
            return;
        }

        int phase = Volatile.Read(ref _phase);
        if (Interlocked.Decrement(ref _remaining) == 0)
        {
            _remaining = _participants;
            Volatile.Write(ref _phase, phase + 1);
            return;
        }

        var spin = default(SpinWait);
        while (Volatile.Read(ref _phase) == phase)
        {
            spin.SpinOnce(sleep1Threshold: -1);
        }
    }
}
