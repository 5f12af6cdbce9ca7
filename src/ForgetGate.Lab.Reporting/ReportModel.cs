using System.Text.Json;
using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Numerics.Engines;

namespace ForgetGate.Lab.Reporting;

/// <summary>Everything a sweep report shows; rendering is a pure function of this model.</summary>
public sealed record SweepReport(
    string SweepName, string SpecHash, DateTimeOffset GeneratedAt, bool IsRegression, IReadOnlyList<string> TaskNames,
    string GroupBy, IReadOnlyList<RunReport> Runs);

/// <summary>
/// One run: its group (e.g. the variant), seed, provenance and measurements; <paramref name="ReusedFrom"/>: the earlier sweep's
/// run it was copied from; <paramref name="GateSteps"/>: its gates through time (none for runs recorded before they were);
/// <paramref name="StartedAt"/>: when it started (the wall time of its TensorBoard events).
/// </summary>
public sealed record RunReport(
    long RunId, string Group, long Seed, IReadOnlyDictionary<string, string> Factors, string Status, string ConfigJson, string ConfigHash,
    string CodeVersion, string DatasetFingerprint, IReadOnlyDictionary<string, string> Environment, double WallSeconds, double TrainSamplesPerSecond,
    IReadOnlyList<EvaluationPoint> Evaluations, IReadOnlyList<SummaryMetric> Summary, IReadOnlyList<GateHistogram> Gates, IReadOnlyList<LossPoint> Loss,
    long? ReusedFrom = null, IReadOnlyList<GateStepRow>? GateSteps = null, DateTimeOffset? StartedAt = null)
{
    /// <summary>Gates through time, empty when none were recorded.</summary>
    public IReadOnlyList<GateStepRow> GateStepRows => GateSteps ?? [];

    /// <summary>
    /// The run's <c>model.init</c> from its stored config; absent (every run stored before the field, and every run at
    /// the default, which is left out of the config so earlier hashes hold) means <c>rnn</c>.
    /// </summary>
    public ParameterInitKind Init => InitOf(ConfigJson);

    private static ParameterInitKind InitOf(string configJson)
    {
        try
        {
            using var doc = JsonDocument.Parse(configJson);
            return doc.RootElement.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.Object
                && model.TryGetProperty("init", out var init) && init.ValueKind == JsonValueKind.String
                ? ParameterInitKinds.Parse(init.GetString()!)
                : ParameterInitKind.Rnn;
        }
        catch (JsonException)
        {
            return ParameterInitKind.Rnn;
        }
    }
}

/// <summary>Score of <paramref name="EvalTask"/> after training <paramref name="AfterTask"/> tasks (0 = untrained) at <paramref name="Epoch"/>.</summary>
public sealed record EvaluationPoint(int AfterTask, int Epoch, int EvalTask, string Metric, double Value);

/// <summary>A summary metric and its convention.</summary>
public sealed record SummaryMetric(string Name, string Convention, double Value);

/// <summary>Effective forget-gate statistics; <paramref name="Counts"/> are 20 bin fractions over [0, 1].</summary>
public sealed record GateHistogram(int AfterTask, int Layer, int EvalTask, double Mean, double FracAbove09, double FracBelow01, IReadOnlyList<double> Counts);

/// <summary>Training loss of one batch.</summary>
public sealed record LossPoint(int Task, int Epoch, int Step, double Loss);
