using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ForgetGate.Lab.Core.Specs;

/// <summary>A scalar as written in the spec: its text, whether it was quoted (then it is always text), and its line.</summary>
public sealed record RawScalar(string Text, bool Quoted, int Line);

/// <summary>A spec value before validation: one scalar, or a list of scalars (a sweep over them).</summary>
public sealed record RawValue(IReadOnlyList<RawScalar> Items, bool IsList, int Line)
{
    /// <summary>A single scalar.</summary>
    public static RawValue Of(RawScalar scalar) => new([scalar], false, scalar.Line);
}

/// <summary>Conversions between spec text, typed values and canonical JSON.</summary>
internal static class SpecValues
{
    /// <summary>Converts one scalar to the field's type; returns an error phrase on failure.</summary>
    public static bool TryConvert(SpecField field, RawScalar scalar, out object value, out string error)
    {
        var inv = CultureInfo.InvariantCulture;
        string text = scalar.Text.Trim();
        value = text;
        error = "";
        switch (field.Type)
        {
            case SpecFieldType.Text:
                return true;
            case SpecFieldType.Choice:
                var match = field.Choices.FirstOrDefault(c => string.Equals(c, text, StringComparison.OrdinalIgnoreCase));
                if (match is null)
                {
                    error = $"'{text}' is not allowed; expected {field.Allowed()}{Suggest(text, field.Choices)}";
                    return false;
                }

                value = match;
                return true;
            case SpecFieldType.Boolean:
                if (!scalar.Quoted && bool.TryParse(text, out bool b))
                {
                    value = b;
                    return true;
                }

                error = $"'{text}' is not a boolean; expected true or false";
                return false;
            case SpecFieldType.Whole:
                if (!scalar.Quoted && long.TryParse(text, NumberStyles.AllowLeadingSign, inv, out long l))
                {
                    value = l;
                    return InRange(field, l, ref error);
                }

                if (!scalar.Quoted && double.TryParse(text, NumberStyles.Float, inv, out double whole) && whole == Math.Floor(whole) && Math.Abs(whole) < 9.007199254740992E15)
                {
                    value = (long)whole;
                    return InRange(field, whole, ref error);
                }

                error = $"'{text}' is not an integer; expected {field.Allowed()}";
                return false;
            case SpecFieldType.Real:
                if (!scalar.Quoted && double.TryParse(text, NumberStyles.Float, inv, out double d) && double.IsFinite(d))
                {
                    value = d;
                    return InRange(field, d, ref error);
                }

                error = $"'{text}' is not a number; expected {field.Allowed()}";
                return false;
            default:
                throw new InvalidOperationException($"Unhandled field type {field.Type}.");
        }
    }

    private static bool InRange(SpecField field, double v, ref string error)
    {
        bool low = field.Min is not double min || (field.MinExclusive ? v > min : v >= min);
        bool high = field.Max is not double max || (field.MaxExclusive ? v < max : v <= max);
        if (low && high)
        {
            return true;
        }

        error = string.Create(CultureInfo.InvariantCulture, $"{v} is out of range; expected {field.Allowed()}");
        return false;
    }

    /// <summary>" (did you mean 'x'?)" when a candidate is within edit distance 2 (or a third of the word), else "".</summary>
    public static string Suggest(string text, IEnumerable<string> candidates)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var c in candidates)
        {
            int d = Levenshtein(text.ToUpperInvariant(), c.ToUpperInvariant());
            if (d < bestDistance)
            {
                best = c;
                bestDistance = d;
            }
        }

        return best is not null && bestDistance <= Math.Max(2, text.Length / 3) ? $" (did you mean '{best}'?)" : "";
    }

    private static int Levenshtein(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    /// <summary>Human-readable text of a value (for sweep factor labels), invariant culture.</summary>
    public static string Format(object value) => value switch
    {
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        long l => l.ToString(CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        _ => value.ToString() ?? "",
    };

    /// <summary>Nested JSON object from dotted paths; keys sorted by ordinal at every level; no whitespace.</summary>
    public static string ToCanonicalJson(IReadOnlyDictionary<string, object> values)
    {
        var root = new SortedDictionary<string, object>(StringComparer.Ordinal);
        foreach (var (path, value) in values)
        {
            var node = root;
            var parts = path.Split('.');
            for (int i = 0; i < parts.Length - 1; i++)
            {
                if (!node.TryGetValue(parts[i], out var child))
                {
                    child = new SortedDictionary<string, object>(StringComparer.Ordinal);
                    node[parts[i]] = child;
                }

                node = (SortedDictionary<string, object>)child;
            }

            node[parts[^1]] = value;
        }

        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            Write(writer, root);
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void Write(Utf8JsonWriter w, SortedDictionary<string, object> node)
    {
        w.WriteStartObject();
        foreach (var (key, value) in node)
        {
            w.WritePropertyName(key);
            switch (value)
            {
                case SortedDictionary<string, object> child:
                    Write(w, child);
                    break;
                case string s:
                    w.WriteStringValue(s);
                    break;
                case long l:
                    w.WriteNumberValue(l);
                    break;
                case double d:
                    // Shortest round-trip text, always with a '.' or exponent so it reads back as a real.
                    string text = d.ToString("R", CultureInfo.InvariantCulture);
                    if (!text.Contains('.', StringComparison.Ordinal) && !text.Contains('E', StringComparison.Ordinal))
                    {
                        text += ".0";
                    }

                    w.WriteRawValue(text);
                    break;
                case bool b:
                    w.WriteBooleanValue(b);
                    break;
                default:
                    throw new InvalidOperationException($"Unexpected value type {value.GetType()} in a config.");
            }
        }

        w.WriteEndObject();
    }
}
