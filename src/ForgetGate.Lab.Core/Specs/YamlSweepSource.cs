using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Numerics.Models;

namespace ForgetGate.Lab.Core.Specs;

/// <summary>Queues YAML experiment specs: validates, applies <c>--set</c> overrides, expands the sweep (at most <paramref name="maxRuns"/> points).</summary>
public sealed class YamlSweepSource(IReadOnlyList<string>? overrides = null, long maxRuns = SpecReader.DefaultMaxRuns) : ISweepSource
{
    /// <inheritdoc />
    public bool CanRead(string specPath) =>
        specPath.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || specPath.EndsWith(".yml", StringComparison.OrdinalIgnoreCase);

    /// <inheritdoc />
    public SweepPlan Load(string specPath) => ToPlan(SpecReader.ReadFile(specPath, overrides, maxRuns));

    /// <summary>The queue's view of a validated spec.</summary>
    public static SweepPlan ToPlan(ExperimentSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var points = spec.EnumeratePoints().Select(p => new SweepPoint(p.CanonicalJson, p.ConfigHash, p.Config.Seed, p.Config.Model.VariantName)).ToList();
        return new SweepPlan(spec.Name, spec.Text, spec.TextHash, points) { MaxAttempts = spec.MaxAttempts, Priority = spec.Priority };
    }
}
