using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace ForgetGate.Lab.Numerics.Random;

/// <summary>
/// Deterministic, splittable pseudo-random generator (xoshiro256** seeded by SplitMix64).
/// One seed feeds every stream: <see cref="Split(string)"/> derives an independent child from
/// (this stream's seed, name), so adding a new stream never shifts the numbers of another.
/// </summary>
public sealed class Rng
{
    private ulong _s0, _s1, _s2, _s3;

    /// <summary>Creates a generator from a 64-bit seed.</summary>
    public Rng(ulong seed)
    {
        Seed = seed;
        ulong x = seed;
        _s0 = SplitMix64(ref x);
        _s1 = SplitMix64(ref x);
        _s2 = SplitMix64(ref x);
        _s3 = SplitMix64(ref x);
    }

    /// <summary>The seed this stream was created from (recorded for reproducibility).</summary>
    public ulong Seed { get; }

    /// <summary>A child stream whose seed is derived from this stream's seed and <paramref name="name"/>, independent of how much this stream was used.</summary>
    public Rng Split(string name) => new(DeriveSeed(Seed, name));

    /// <summary>Derives a child seed: first 8 bytes of SHA-256(seed ‖ name), little-endian.</summary>
    public static ulong DeriveSeed(ulong seed, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        Span<byte> buffer = stackalloc byte[8 + Encoding.UTF8.GetMaxByteCount(name.Length)];
        BinaryPrimitives.WriteUInt64LittleEndian(buffer, seed);
        int written = Encoding.UTF8.GetBytes(name, buffer[8..]);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(buffer[..(8 + written)], hash);
        return BinaryPrimitives.ReadUInt64LittleEndian(hash);
    }

    /// <summary>Next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform float in [0, 1) with 24 random bits.</summary>
    public float NextSingle() => (NextUInt64() >> 40) * (1.0f / (1U << 24));

    /// <summary>Uniform double in [low, high).</summary>
    public double Uniform(double low, double high) => low + ((high - low) * NextDouble());

    /// <summary>Uniform integer in [0, exclusiveMax) without modulo bias (Lemire's method).</summary>
    public int NextInt(int exclusiveMax)
    {
        if (exclusiveMax <= 0)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(exclusiveMax), exclusiveMax, "Must be positive.");
        }

        ulong range = (ulong)exclusiveMax;
        UInt128 m = (UInt128)(NextUInt64() >> 32) * range;
        ulong low = (ulong)m & 0xFFFF_FFFF;
        if (low < range)
        {
            ulong threshold = (0x1_0000_0000UL - range) % range;
            while (low < threshold)
            {
                m = (UInt128)(NextUInt64() >> 32) * range;
                low = (ulong)m & 0xFFFF_FFFF;
            }
        }

        return (int)(m >> 32);
    }

    /// <summary>Standard normal sample (Box–Muller, one value per call for simplicity of state).</summary>
    public double NextGaussian()
    {
        double u1 = 1.0 - NextDouble(); // (0, 1]
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>Fisher–Yates shuffle in place.</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>Fills <paramref name="destination"/> with U(low, high) floats.</summary>
    public void FillUniform(Span<float> destination, float low, float high)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = (float)(low + ((high - (double)low) * NextDouble()));
        }
    }

    /// <summary>The full generator state, for checkpoints.</summary>
    public RngState GetState() => new(Seed, _s0, _s1, _s2, _s3);

    /// <summary>Restores a state captured by <see cref="GetState"/>.</summary>
    public static Rng FromState(RngState state)
    {
        var rng = new Rng(state.Seed) { _s0 = state.S0, _s1 = state.S1, _s2 = state.S2, _s3 = state.S3 };
        return rng;
    }

    private static ulong SplitMix64(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}

/// <summary>Serializable generator state.</summary>
public readonly record struct RngState(ulong Seed, ulong S0, ulong S1, ulong S2, ulong S3);
