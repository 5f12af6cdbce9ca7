using System.Globalization;

namespace ForgetGate.Lab.Core.Specs;

/// <summary>The type of a spec field's value.</summary>
public enum SpecFieldType
{
    /// <summary>Free text.</summary>
    Text,

    /// <summary>A 64-bit integer.</summary>
    Whole,

    /// <summary>A real number.</summary>
    Real,

    /// <summary>true or false.</summary>
    Boolean,

    /// <summary>One of a fixed set of names.</summary>
    Choice,
}

/// <summary>
/// One field of the experiment spec: its dotted path, type, default, allowed range or names, and the scenario
/// or strategy kinds it applies to. The schema is the single source for validation, defaults, canonical JSON
/// and the README's field reference.
/// </summary>
public sealed record SpecField(string Path, SpecFieldType Type, object? Default, string Description)
{
    /// <summary>Inclusive lower bound for numbers (null: unbounded).</summary>
    public double? Min { get; init; }

    /// <summary>Upper bound for numbers (null: unbounded).</summary>
    public double? Max { get; init; }

    /// <summary>Whether <see cref="Min"/> itself is excluded.</summary>
    public bool MinExclusive { get; init; }

    /// <summary>Whether <see cref="Max"/> itself is excluded.</summary>
    public bool MaxExclusive { get; init; }

    /// <summary>Allowed names for <see cref="SpecFieldType.Choice"/>.</summary>
    public IReadOnlyList<string> Choices { get; init; } = [];

    /// <summary>The field only exists when the field at this path has one of <see cref="WhenValues"/>.</summary>
    public string? WhenPath { get; init; }

    /// <summary>Values of <see cref="WhenPath"/> that enable this field.</summary>
    public IReadOnlyList<string> WhenValues { get; init; } = [];

    /// <summary>Why the field means nothing elsewhere, added to the error when a spec sets it where it never applies.</summary>
    public string? NotApplicableReason { get; init; }

    /// <summary>Whether a spec must give this field.</summary>
    public bool Required { get; init; }

    /// <summary>
    /// A field added after runs were stored: at its default it is left out of the resolved config (and so of the
    /// canonical JSON and the config hash), which keeps every earlier run's hash, and with it reuse and store copies,
    /// as it was. Readers take the default when the field is absent.
    /// </summary>
    public bool OmittedAtDefault { get; init; }

    /// <summary>Whether the field can hold a list that sweeps over its values.</summary>
    public bool Sweepable { get; init; } = true;

    /// <summary>What is allowed, as a phrase for error messages.</summary>
    public string Allowed()
    {
        var inv = CultureInfo.InvariantCulture;
        return Type switch
        {
            SpecFieldType.Choice => "one of: " + string.Join(", ", Choices),
            SpecFieldType.Boolean => "true or false",
            SpecFieldType.Text => "text",
            _ => (Type == SpecFieldType.Whole ? "an integer" : "a number") + (Min, Max) switch
            {
                (null, null) => "",
                (double lo, null) => string.Create(inv, $" {(MinExclusive ? ">" : "≥")} {lo}"),
                (null, double hi) => string.Create(inv, $" {(MaxExclusive ? "<" : "≤")} {hi}"),
                (double lo, double hi) => string.Create(inv, $" in {(MinExclusive ? "(" : "[")}{lo}, {hi}{(MaxExclusive ? ")" : "]")}"),
            },
        };
    }
}
