namespace ForgetGate.Lab.Core.Runs;

/// <summary>Turns a spec file into the points to queue (the YAML spec reader + sweep expander implement it).</summary>
public interface ISweepSource
{
    /// <summary>True when this source reads files like <paramref name="specPath"/> (by extension).</summary>
    bool CanRead(string specPath);

    /// <summary>Reads and expands the spec; throws with the file/field/value on bad input.</summary>
    SweepPlan Load(string specPath);
}

/// <summary>An expanded sweep: its name, spec text and hash, and one point per run.</summary>
public sealed record SweepPlan(string Name, string SpecText, string SpecHash, IReadOnlyList<SweepPoint> Points)
{
    /// <summary>Attempts before a run is failed, as the spec asks (null: the queue's default).</summary>
    public int? MaxAttempts { get; init; }

    /// <summary>Priority of the runs, as the spec asks (null: the queue's default).</summary>
    public int? Priority { get; init; }
}

/// <summary>One resolved configuration (canonical JSON) with its SHA-256, seed and variant.</summary>
public sealed record SweepPoint(string ConfigJson, string ConfigHash, long Seed, string? Variant);
