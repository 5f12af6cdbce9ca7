using System.Globalization;
using ForgetGate.Lab.Numerics.Random;

namespace ForgetGate.Lab.Numerics.Cells;

/// <summary>Kinds of per-unit initialisation a cell file may name (DESIGN.md §4b).</summary>
public enum CellInitKind
{
    /// <summary><c>default</c>: U(−1/√H, 1/√H), PyTorch's rule (the value already drawn is kept).</summary>
    Default,

    /// <summary><c>constant(v)</c>.</summary>
    Constant,

    /// <summary><c>uniform(a, b)</c>.</summary>
    Uniform,

    /// <summary><c>linspace(a, b)</c> across the units (a for unit 0, b for unit H−1).</summary>
    Linspace,

    /// <summary><c>chrono</c>: log U(1, T−1), T the sequence length (Tallec &amp; Ollivier 2018).</summary>
    Chrono,

    /// <summary><c>ugi</c>: −log(1/u − 1), u ~ U(1/H, 1 − 1/H) (Gu et al. 2020).</summary>
    Ugi,
}

/// <summary>A parsed init rule such as <c>linspace(3, 6)</c>.</summary>
public sealed record CellInit(CellInitKind Kind, double A = 0, double B = 0)
{
    /// <summary>The rules a cell file may use, as written.</summary>
    public const string Known = "default, constant(v), uniform(a, b), linspace(a, b), chrono, ugi";

    /// <summary>Parses an init text; null with a message when it is not one of <see cref="Known"/>.</summary>
    public static CellInit? TryParse(string text, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        error = null;
        string s = text.Trim();
        int open = s.IndexOf('(', StringComparison.Ordinal);
        string head = (open < 0 ? s : s[..open]).Trim();
        double[] args = [];
        if (open >= 0)
        {
            if (!s.EndsWith(')'))
            {
                error = $"init '{text}' has no closing ')' (in a flow mapping {{f: linspace(3, 6)}} YAML splits at the comma: quote the value or write the mapping on its own lines); expected one of {Known}.";
                return null;
            }

            var parts = s[(open + 1)..^1].Split(',', StringSplitOptions.TrimEntries);
            args = new double[parts.Length];
            for (int i = 0; i < parts.Length; i++)
            {
                if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out args[i]) || !double.IsFinite(args[i]))
                {
                    error = $"init '{text}': '{parts[i]}' is not a number.";
                    return null;
                }
            }
        }

        (CellInitKind Kind, int Arity)? rule = head switch
        {
            "default" => (CellInitKind.Default, 0),
            "constant" => (CellInitKind.Constant, 1),
            "uniform" => (CellInitKind.Uniform, 2),
            "linspace" => (CellInitKind.Linspace, 2),
            "chrono" => (CellInitKind.Chrono, 0),
            "ugi" => (CellInitKind.Ugi, 0),
            _ => null,
        };
        if (rule is null)
        {
            error = $"unknown init '{text}'; expected one of {Known}.";
            return null;
        }

        if (args.Length != rule.Value.Arity)
        {
            error = $"init '{text}' takes {rule.Value.Arity} number(s), got {args.Length}; expected one of {Known}.";
            return null;
        }

        if (rule.Value.Kind == CellInitKind.Uniform && !(args[0] <= args[1]))
        {
            error = $"init '{text}': uniform(a, b) needs a ≤ b.";
            return null;
        }

        return new CellInit(rule.Value.Kind, args.Length > 0 ? args[0] : 0, args.Length > 1 ? args[1] : 0);
    }

    /// <summary>
    /// Writes the rule's values for <paramref name="values"/>.Length units; <see cref="CellInitKind.Default"/> leaves the
    /// values (already drawn by the default pass) as they are.
    /// </summary>
    public void Fill(Span<float> values, int sequenceLength, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        int h = values.Length;
        switch (Kind)
        {
            case CellInitKind.Constant:
                values.Fill((float)A);
                break;
            case CellInitKind.Uniform:
                for (int u = 0; u < h; u++)
                {
                    values[u] = (float)rng.Uniform(A, B);
                }

                break;
            case CellInitKind.Linspace:
                for (int u = 0; u < h; u++)
                {
                    values[u] = (float)(h == 1 ? A : A + ((B - A) * u / (h - 1)));
                }

                break;
            case CellInitKind.Chrono:
                // Same clamp as the built-in chrono: for T ≤ 2 the interval is empty, so b = log 1 = 0.
                double upper = Math.Max(1.0, sequenceLength - 1.0);
                for (int u = 0; u < h; u++)
                {
                    values[u] = (float)Math.Log(rng.Uniform(1.0, upper));
                }

                break;
            case CellInitKind.Ugi:
                double lo = 1.0 / h;
                double hi = 1.0 - (1.0 / h);
                for (int u = 0; u < h; u++)
                {
                    double uu = hi > lo ? rng.Uniform(lo, hi) : 0.5;
                    values[u] = (float)-Math.Log((1.0 / uu) - 1.0);
                }

                break;
            default:
                break;
        }
    }
}
