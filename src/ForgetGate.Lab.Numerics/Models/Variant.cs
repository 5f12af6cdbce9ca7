namespace ForgetGate.Lab.Numerics.Models;

/// <summary>The recurrent cell designs of DESIGN.md §4.</summary>
public enum Variant
{
    /// <summary>Standard LSTM, gates i, f, g, o; PyTorch default init.</summary>
    Lstm,

    /// <summary>LSTM with forget-gate bias 1 (in bias_ih only).</summary>
    LstmFb1,

    /// <summary>Coupled input–forget gate LSTM, gates f, g, o; input gate is 1 − f.</summary>
    Cifg,

    /// <summary>GRU, gates r, z, n ("reset after" form, as PyTorch/cuDNN).</summary>
    Gru,

    /// <summary>UR-LSTM: gates f, r, u, o plus a learned per-unit forget bias (Gu et al. 2020).</summary>
    UrLstm,

    /// <summary>LSTM with chrono initialisation (Tallec &amp; Ollivier 2018).</summary>
    Chrono,
}

/// <summary>Names, gate counts and parsing for <see cref="Variant"/>.</summary>
public static class Variants
{
    /// <summary>Every variant, in canonical order.</summary>
    public static IReadOnlyList<Variant> All { get; } = [Variant.Lstm, Variant.LstmFb1, Variant.Cifg, Variant.Gru, Variant.UrLstm, Variant.Chrono];

    /// <summary>The spec/checkpoint name: lstm, lstm-fb1, cifg, gru, ur-lstm, chrono.</summary>
    public static string Name(this Variant variant) => variant switch
    {
        Variant.Lstm => "lstm",
        Variant.LstmFb1 => "lstm-fb1",
        Variant.Cifg => "cifg",
        Variant.Gru => "gru",
        Variant.UrLstm => "ur-lstm",
        Variant.Chrono => "chrono",
        _ => throw new ArgumentOutOfRangeException(nameof(variant), variant, "Unknown variant."),
    };

    /// <summary>Number of gate blocks G in weight_ih [G·H, D].</summary>
    public static int GateCount(this Variant variant) => variant is Variant.Cifg or Variant.Gru ? 3 : 4;

    /// <summary>Parses a variant name; the error lists the allowed names.</summary>
    public static Variant Parse(string name)
    {
        if (TryParse(name, out var variant))
        {
            return variant;
        }

        throw new FormatException($"Unknown variant '{name}'; expected one of: {string.Join(", ", All.Select(v => v.Name()))}.");
    }

    /// <summary>Parses a variant name (case-insensitive).</summary>
    public static bool TryParse(string? name, out Variant variant)
    {
        foreach (var v in All)
        {
            if (string.Equals(v.Name(), name, StringComparison.OrdinalIgnoreCase))
            {
                variant = v;
                return true;
            }
        }

        variant = default;
        return false;
    }
}
