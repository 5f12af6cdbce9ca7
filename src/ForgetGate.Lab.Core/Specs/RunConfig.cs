using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ForgetGate.Lab.Numerics.Cells;
using ForgetGate.Lab.Numerics.Engines;
using ForgetGate.Lab.Numerics.Models;

namespace ForgetGate.Lab.Core.Specs;

/// <summary>The task sequence of a run.</summary>
public sealed record ScenarioConfig(
    string Kind, string? Dataset, int Tasks, int TrainPerTask, int TestPerTask, double ValidationFraction, bool Normalize,
    bool IdentityFirst, double MaxAngle, int ClassesPerTask, string Head, string Drift, string Family, int Window, int Horizon, double Noise,
    string Sequence = "rows");

/// <summary>
/// The network of a run and the engine that computes it (<c>managed</c> or <c>torch</c>). When <see cref="Cell"/> is
/// set the run computes that cell file and <see cref="Variant"/> is not used.
/// </summary>
public sealed record ModelConfig(Variant Variant, int Hidden, int Layers, string Engine = "managed")
{
    /// <summary>The checked cell file named by model.variant, or null for a built-in.</summary>
    public CellGraph? Cell { get; init; }

    /// <summary><c>model.init</c>: the parameters' base distribution before the variant's bias rule.</summary>
    public ParameterInitKind Init { get; init; }

    /// <summary>The built-in's or the cell's name.</summary>
    public string VariantName => Cell?.Name ?? Variant.Name();
}

/// <summary>The optimizer of a run (PyTorch names).</summary>
public sealed record OptimizerConfig(string Kind, double Lr, double Beta1, double Beta2, double Eps, double WeightDecay, double Momentum, bool Nesterov);

/// <summary>How a run trains.</summary>
public sealed record TrainingConfig(int EpochsPerTask, int BatchSize, OptimizerConfig Optimizer, double ClipNorm, bool EvalEveryEpoch, int CheckpointEveryBatches);

/// <summary>The continual-learning strategy of a run.</summary>
public sealed record StrategyConfig(
    string Kind, int BufferSize, double ReplayFraction, double Lambda, double Gamma, int FisherSamples,
    double LwfAlpha, double LwfTemperature, double SiC, double SiXi, double MasLambda, int MemoryPerTask, int AgemReferenceBatch,
    double GemMargin, double DerppAlpha, double DerppBeta);

/// <summary>
/// A fully resolved run configuration: every applicable field with its default filled in. Its canonical JSON
/// (sorted keys, invariant numbers, no whitespace) is stored with the run; the SHA-256 of that JSON without
/// <c>name</c> identifies what the run computes, so renaming a spec finds (and reuses) the runs it already has.
/// </summary>
public sealed record RunConfig(string Name, long Seed, ScenarioConfig Scenario, ModelConfig Model, TrainingConfig Training, StrategyConfig Strategy)
{
    /// <summary>The resolved values by dotted path (only fields that apply to this run).</summary>
    public required IReadOnlyDictionary<string, object> Values { get; init; }

    /// <summary>Canonical JSON: nested objects, keys sorted by ordinal, numbers invariant and round-trippable.</summary>
    public string CanonicalJson => SpecValues.ToCanonicalJson(Values);

    /// <summary>
    /// SHA-256 (lower-case hex) of the canonical JSON of every field but <c>name</c>: the name labels a sweep and
    /// changes nothing a run computes, so it is left out of the identity that reuse and store copies match on.
    /// </summary>
    public string Hash => HashOf(Values);

    /// <summary>The config hash of resolved values (see <see cref="Hash"/>).</summary>
    public static string HashOf(IReadOnlyDictionary<string, object> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var computed = values.Where(v => !NotHashed.Contains(v.Key)).ToDictionary(v => v.Key, v => v.Value, StringComparer.Ordinal);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(SpecValues.ToCanonicalJson(computed))));
    }

    /// <summary>Fields stored in the config but not part of its hash (they do not change what a run computes).</summary>
    public static IReadOnlySet<string> NotHashed { get; } = new HashSet<string>(StringComparer.Ordinal) { "name" };

    /// <summary>Builds the typed config from resolved values (already validated against <see cref="SpecSchema"/>).</summary>
    public static RunConfig FromValues(IReadOnlyDictionary<string, object> v)
    {
        ArgumentNullException.ThrowIfNull(v);
        string S(string p) => (string)v.GetValueOrDefault(p, SpecSchema.Find(p)!.Default!);
        int I(string p) => checked((int)(long)v.GetValueOrDefault(p, SpecSchema.Find(p)!.Default!));
        double D(string p) => (double)v.GetValueOrDefault(p, SpecSchema.Find(p)!.Default!);
        bool B(string p) => (bool)v.GetValueOrDefault(p, SpecSchema.Find(p)!.Default!);
        return new RunConfig(
            S("name"),
            (long)v.GetValueOrDefault("seed", 0L),
            new ScenarioConfig(
                S("scenario.kind"), v.TryGetValue("scenario.dataset", out var ds) ? (string)ds : null, I("scenario.tasks"), I("scenario.train_per_task"),
                I("scenario.test_per_task"), D("scenario.validation_fraction"), B("scenario.normalize"), B("scenario.identity_first"),
                D("scenario.max_angle"), I("scenario.classes_per_task"), S("scenario.head"), S("scenario.drift"), S("scenario.family"),
                I("scenario.window"), I("scenario.horizon"), D("scenario.noise"), S("scenario.sequence")),
            ModelOf(v, S("model.variant"), I("model.hidden"), I("model.layers"), S("model.engine")) with { Init = ParameterInitKinds.Parse(S("model.init")) },
            new TrainingConfig(
                I("training.epochs_per_task"), I("training.batch_size"),
                new OptimizerConfig(S("training.optimizer.kind"), D("training.optimizer.lr"), D("training.optimizer.beta1"), D("training.optimizer.beta2"),
                    D("training.optimizer.eps"), D("training.optimizer.weight_decay"), D("training.optimizer.momentum"), B("training.optimizer.nesterov")),
                D("training.clip_norm"), B("training.eval_every_epoch"), I("training.checkpoint_every_batches")),
            new StrategyConfig(
                S("strategy.kind"), I("strategy.buffer_size"), D("strategy.replay_fraction"), D("strategy.lambda"), D("strategy.gamma"), I("strategy.fisher_samples"),
                D("strategy.lwf_alpha"), D("strategy.lwf_temperature"), D("strategy.si_c"), D("strategy.si_xi"), D("strategy.mas_lambda"),
                I("strategy.memory_per_task"), I("strategy.agem_reference_batch"), D("strategy.gem_margin"), D("strategy.derpp_alpha"), D("strategy.derpp_beta")))
        {
            Values = v,
        };
    }

    private static ModelConfig ModelOf(IReadOnlyDictionary<string, object> v, string variant, int hidden, int layers, string engine)
    {
        if (v.TryGetValue("model.cell", out var json))
        {
            var cell = CellGraph.Compile(CellDefinition.FromJson((string)json, "model.cell"));
            return new ModelConfig(Variant.Lstm, hidden, layers, engine) { Cell = cell };
        }

        return new ModelConfig(Variants.Parse(variant), hidden, layers, engine);
    }

    /// <summary>Parses a stored canonical JSON config back (e.g. to reproduce a run); it is validated like a spec.</summary>
    public static RunConfig FromCanonicalJson(string json, string source = "<stored config>")
    {
        ArgumentNullException.ThrowIfNull(json);
        var raw = new List<(string Path, RawValue Value)>();
        try
        {
            using var doc = JsonDocument.Parse(json);
            Flatten(doc.RootElement, "", raw);
        }
        catch (JsonException e)
        {
            throw new SpecValidationException([new SpecError(source, 0, "(json)", "is not valid JSON: " + e.Message)]);
        }

        var point = SpecReader.Resolve(source, raw.Select(r => (r.Path, r.Value)).ToList(), []);
        if (point.Count != 1)
        {
            throw new SpecValidationException([new SpecError(source, 0, "(json)", "a stored config must describe exactly one run, not a sweep")]);
        }

        return point[0].Config;
    }

    private static void Flatten(JsonElement e, string prefix, List<(string, RawValue)> output)
    {
        foreach (var property in e.EnumerateObject())
        {
            string path = prefix.Length == 0 ? property.Name : prefix + "." + property.Name;
            var v = property.Value;
            switch (v.ValueKind)
            {
                case JsonValueKind.Object:
                    Flatten(v, path, output);
                    break;
                case JsonValueKind.String:
                    output.Add((path, RawValue.Of(new RawScalar(v.GetString()!, Quoted: true, Line: 0))));
                    break;
                default:
                    output.Add((path, RawValue.Of(new RawScalar(v.GetRawText(), Quoted: false, Line: 0))));
                    break;
            }
        }
    }
}
