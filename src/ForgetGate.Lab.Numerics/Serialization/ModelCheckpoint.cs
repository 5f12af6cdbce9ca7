using System.Globalization;
using ForgetGate.Lab.Numerics.Cells;
using ForgetGate.Lab.Numerics.Models;

namespace ForgetGate.Lab.Numerics.Serialization;

/// <summary>
/// Model checkpoints as safetensors files PyTorch can read: tensors named as a PyTorch state_dict of
/// <c>rnn</c> + <c>head</c>, and <c>__metadata__</c> fields <c>variant</c>, <c>input_size</c>,
/// <c>hidden</c>, <c>layers</c>, <c>outputs</c>. A cell file's model (DESIGN.md §4b) adds <c>cell</c>, the whole
/// definition as JSON, so the file alone rebuilds it; its weight_hh/bias_hh cover the recurrent blocks only (absent
/// when there are none) and its params are <c>rnn.&lt;name&gt;_l{k}</c> [H]. A run checkpoint (metadata
/// <c>checkpoint</c>) is one too: its training state sits beside the model under other prefixes (<c>optim.</c>,
/// <c>ewc.</c>, …) and is ignored here.
/// </summary>
public static partial class ModelCheckpoint
{
    /// <summary>Metadata key whose presence marks a run checkpoint (model plus training state).</summary>
    public const string RunCheckpointKey = "checkpoint";

    /// <summary>Prefixes of the model's own tensors; in a run checkpoint every other tensor is training state.</summary>
    public static IReadOnlyList<string> ModelPrefixes { get; } = ["rnn.", "head."];

    /// <summary>Metadata keys this class writes and reads; extra metadata may not use them.</summary>
    public static IReadOnlyList<string> ReservedMetadataKeys { get; } = ["variant", "input_size", "hidden", "layers", "outputs", "format", "cell"];

    /// <summary>The tensors a model of <paramref name="config"/> has, in PyTorch state_dict order.</summary>
    public static IReadOnlyList<(string Name, int[] Shape)> ExpectedTensors(RecurrentModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        int gh = config.GateCount * config.Hidden;
        int rh = config.RecurrentGateCount * config.Hidden;
        var list = new List<(string, int[])>();
        for (int k = 0; k < config.Layers; k++)
        {
            int d = k == 0 ? config.InputSize : config.Hidden;
            list.Add(($"rnn.weight_ih_l{k}", [gh, d]));
            if (rh > 0)
            {
                list.Add(($"rnn.weight_hh_l{k}", [rh, config.Hidden]));
            }

            list.Add(($"rnn.bias_ih_l{k}", [gh]));
            if (rh > 0)
            {
                list.Add(($"rnn.bias_hh_l{k}", [rh]));
            }

            if (config.Cell is null && config.Variant == Variant.UrLstm)
            {
                list.Add(($"rnn.forget_bias_l{k}", [config.Hidden]));
            }

            foreach (string p in config.Cell?.Params ?? [])
            {
                list.Add(($"rnn.{p}_l{k}", [config.Hidden]));
            }
        }

        list.Add(("head.weight", [config.Outputs, config.Hidden]));
        list.Add(("head.bias", [config.Outputs]));
        return list;
    }

    /// <summary>The metadata that describes <paramref name="config"/> (invariant-culture integers).</summary>
    public static Dictionary<string, string> ConfigMetadata(RecurrentModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var inv = CultureInfo.InvariantCulture;
        var md = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = "pt",
            ["variant"] = config.VariantName,
            ["input_size"] = config.InputSize.ToString(inv),
            ["hidden"] = config.Hidden.ToString(inv),
            ["layers"] = config.Layers.ToString(inv),
            ["outputs"] = config.Outputs.ToString(inv),
        };
        if (config.Cell is not null)
        {
            md["cell"] = config.Cell.Definition.ToJson();
        }

        return md;
    }

    /// <summary>Builds the checkpoint file content of parameters that must match <paramref name="config"/> exactly.</summary>
    public static SafetensorsFile ToFile(RecurrentModelConfig config, IReadOnlyList<Parameter> parameters, IReadOnlyDictionary<string, string>? extraMetadata = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var expected = ExpectedTensors(config);
        if (parameters.Count != expected.Count)
        {
            throw new ArgumentException($"Model has {parameters.Count} parameters; a {config.VariantName} model of this config has {expected.Count}.", nameof(parameters));
        }

        var metadata = ConfigMetadata(config);
        if (extraMetadata is not null)
        {
            foreach (var kv in extraMetadata)
            {
                if (!metadata.TryAdd(kv.Key, kv.Value))
                {
                    throw new ArgumentException($"Extra metadata key '{kv.Key}' is reserved for the model config.", nameof(extraMetadata));
                }
            }
        }

        var tensors = new List<SafetensorsTensor>(parameters.Count);
        for (int i = 0; i < parameters.Count; i++)
        {
            var p = parameters[i];
            var (name, shape) = expected[i];
            if (p.Name != name || !p.Shape.SequenceEqual(shape))
            {
                throw new ArgumentException($"Parameter {i} is {p}; expected {name} [{string.Join(", ", shape)}].", nameof(parameters));
            }

            // Copy so that a later training step cannot change what is being written.
            tensors.Add(SafetensorsTensor.FromFloat32(name, shape, (float[])p.Value.Clone()));
        }

        return new SafetensorsFile(tensors, metadata);
    }

    /// <summary>Writes parameters of <paramref name="config"/> atomically (temp file + rename).</summary>
    public static void Save(string path, RecurrentModelConfig config, IReadOnlyList<Parameter> parameters, IReadOnlyDictionary<string, string>? extraMetadata = null) =>
        ToFile(config, parameters, extraMetadata).Write(path);

    /// <summary>
    /// Reads and validates a checkpoint: config from the metadata, then every expected tensor present,
    /// F32, of the expected shape and finite, and no unknown tensor. Errors name the file and the problem.
    /// </summary>
    public static CheckpointData Read(string path)
    {
        var file = SafetensorsFile.Read(path);
        return Validate(file);
    }

    /// <summary>Validates an already parsed file as a model checkpoint (see <see cref="Read"/>).</summary>
    public static CheckpointData Validate(SafetensorsFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        string src = file.Source;
        var md = file.Metadata;
        string variantText = Required(md, "variant", src);
        CellGraph? cell = null;
        if (md.TryGetValue("cell", out string? cellJson))
        {
            try
            {
                cell = CellGraph.Compile(CellDefinition.FromJson(cellJson, $"{src} (metadata 'cell')"));
            }
            catch (CellDefinitionException e)
            {
                throw new InvalidDataException($"{src}: metadata 'cell' does not hold a valid cell: {e.Message}", e);
            }

            if (cell.Name != variantText)
            {
                throw new InvalidDataException($"{src}: metadata 'variant' is '{variantText}' but its 'cell' is named '{cell.Name}'.");
            }
        }

        if (!Variants.TryParse(variantText, out var variant) && cell is null)
        {
            throw new InvalidDataException($"{src}: metadata 'variant' is '{variantText}'; expected one of: {string.Join(", ", Variants.All.Select(v => v.Name()))}, or a cell file's model with its definition in metadata 'cell'.");
        }

        var config = new RecurrentModelConfig(
            variant,
            PositiveInt(md, "input_size", src),
            PositiveInt(md, "hidden", src),
            PositiveInt(md, "layers", src),
            PositiveInt(md, "outputs", src))
        { Cell = cell };

        var expected = ExpectedTensors(config);
        var tensors = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var (name, shape) in expected)
        {
            if (!file.Contains(name))
            {
                throw new InvalidDataException($"{src}: missing tensor '{name}' [{string.Join(", ", shape)}] required by a {config.VariantName} model with {config.Layers} layer(s).");
            }

            var t = file.Get(name);
            if (t.DType != SafetensorsDType.F32)
            {
                throw new InvalidDataException($"{src}: tensor '{name}' has dtype {t.DType}; expected F32.");
            }

            if (!t.Shape.SequenceEqual(shape))
            {
                throw new InvalidDataException($"{src}: tensor '{name}' has shape [{string.Join(", ", t.Shape)}]; expected [{string.Join(", ", shape)}] for input_size={config.InputSize}, hidden={config.Hidden}, outputs={config.Outputs}.");
            }

            var values = t.AsFloat32();
            int bad = Array.FindIndex(values, v => !float.IsFinite(v));
            if (bad >= 0)
            {
                throw new InvalidDataException($"{src}: tensor '{name}' element {bad} is {values[bad].ToString(CultureInfo.InvariantCulture)}; weights must be finite.");
            }

            tensors.Add(name, values);
        }

        bool runCheckpoint = md.ContainsKey(RunCheckpointKey);
        foreach (var t in file.Tensors)
        {
            if (runCheckpoint && !ModelPrefixes.Any(p => t.Name.StartsWith(p, StringComparison.Ordinal)))
            {
                continue; // optimizer or strategy state beside the model
            }

            if (!tensors.ContainsKey(t.Name))
            {
                throw new InvalidDataException($"{src}: unknown tensor '{t.Name}'; a {config.VariantName} model with {config.Layers} layer(s) has: {string.Join(", ", expected.Select(e => e.Name))}.");
            }
        }

        var extra = md.Where(kv => !ReservedMetadataKeys.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        return new CheckpointData(src, config, tensors, extra);
    }

    private static string Required(IReadOnlyDictionary<string, string> md, string key, string src) =>
        md.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"{src}: __metadata__ has no '{key}' field; a model checkpoint needs variant, input_size, hidden, layers, outputs.");

    private static int PositiveInt(IReadOnlyDictionary<string, string> md, string key, string src)
    {
        string text = Required(md, key, src);
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value < 1)
        {
            throw new InvalidDataException($"{src}: metadata '{key}' is '{text}'; expected a positive integer.");
        }

        return value;
    }
}

/// <summary>A validated checkpoint: where it came from, its model config, F32 tensors by name, and extra metadata (in a run checkpoint: position, optimizer and strategy scalars, scores).</summary>
/// <param name="Source">File path.</param>
/// <param name="Config">Model config from the metadata.</param>
/// <param name="Tensors">Every expected tensor (validated name, shape, finite).</param>
/// <param name="ExtraMetadata">Metadata other than the config fields.</param>
public sealed record CheckpointData(string Source, RecurrentModelConfig Config, IReadOnlyDictionary<string, float[]> Tensors, IReadOnlyDictionary<string, string> ExtraMetadata)
{
    /// <summary>The model alone as a file: its tensors in state_dict order with their shapes, the config metadata and <paramref name="metadata"/>.</summary>
    public SafetensorsFile ToModelFile(IReadOnlyDictionary<string, string>? metadata = null)
    {
        var all = ModelCheckpoint.ConfigMetadata(Config);
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>())
        {
            if (!all.TryAdd(key, value))
            {
                throw new ArgumentException($"Metadata key '{key}' is reserved for the model config.", nameof(metadata));
            }
        }

        var tensors = ModelCheckpoint.ExpectedTensors(Config).Select(t => SafetensorsTensor.FromFloat32(t.Name, t.Shape, Tensors[t.Name]));
        return new SafetensorsFile(tensors, all);
    }

    /// <summary>Copies the tensors into parameters of the same names and lengths (all checked before any copy).</summary>
    public void CopyTo(IReadOnlyList<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.Count != Tensors.Count)
        {
            throw new ArgumentException($"{Source}: checkpoint has {Tensors.Count} tensors; the model has {parameters.Count} parameters.", nameof(parameters));
        }

        foreach (var p in parameters)
        {
            if (!Tensors.TryGetValue(p.Name, out var values) || values.Length != p.Length)
            {
                throw new ArgumentException($"{Source}: no tensor of {p.Length} elements for parameter {p}.", nameof(parameters));
            }
        }

        foreach (var p in parameters)
        {
            Tensors[p.Name].CopyTo(p.Value, 0);
        }
    }
}
