using ForgetGate.Lab.Numerics.Random;

namespace ForgetGate.Lab.Core.Training.Strategies;

/// <summary>
/// Reservoir sampling (Vitter's algorithm R) over the stream of training samples seen:
/// after n offers every sample is in the buffer with probability K/n.
/// </summary>
internal sealed class ReservoirBuffer
{
    private readonly List<SampleRef> _items;

    public ReservoirBuffer(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        _items = new List<SampleRef>(capacity);
    }

    public int Capacity { get; }

    /// <summary>Number of samples offered so far (n).</summary>
    public long Seen { get; private set; }

    public int Count => _items.Count;

    public SampleRef this[int i] => _items[i];

    /// <summary>Offers a sample; returns the slot it now occupies, or −1 when it was not kept.</summary>
    public int Offer(SampleRef sample, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        Seen++;
        if (_items.Count < Capacity)
        {
            _items.Add(sample);
            return _items.Count - 1;
        }

        long j = (long)(rng.NextDouble() * Seen);
        if (j < Capacity)
        {
            _items[(int)j] = sample;
            return (int)j;
        }

        return -1;
    }

    public void Restore(long seen, IEnumerable<SampleRef> items)
    {
        _items.Clear();
        _items.AddRange(items);
        if (_items.Count > Capacity)
        {
            throw new InvalidDataException($"Replay buffer checkpoint holds {_items.Count} samples but the capacity is {Capacity}.");
        }

        Seen = seen;
    }

    public IReadOnlyList<SampleRef> Items => _items;
}
