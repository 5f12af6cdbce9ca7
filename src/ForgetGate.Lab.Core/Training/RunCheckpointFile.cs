using System.Globalization;
using System.Security.Cryptography;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Serialization;

namespace ForgetGate.Lab.Core.Training;

/// <summary>
/// A run checkpoint as one <c>.safetensors</c> file that is also a model file: the model's parameters under their
/// PyTorch state_dict names with their real shapes (<c>rnn.weight_ih_l0</c> [G·H, D], …, <c>head.weight</c> [C, H]) and
/// the model metadata <c>predict</c> and PyTorch users need (<c>variant</c>, <c>input_size</c>, <c>hidden</c>,
/// <c>layers</c>, <c>outputs</c>, <c>format: pt</c>); beside them the training state under prefixes of its own
/// (<c>optim.</c> optimizer moments, <c>ewc.</c> and other strategy tensors, shaped like the parameter they shadow),
/// and the run position and scalars as metadata (<c>checkpoint: forgetgate-run/2</c>, <c>position.*</c>, <c>scores</c>).
/// In PyTorch, the tensors whose names start with <c>rnn.</c> and <c>head.</c> are the model's state_dict.
/// </summary>
internal static class RunCheckpointFile
{
    /// <summary>Metadata key and value that mark a run checkpoint (the model's own <c>format</c> key says <c>pt</c>).</summary>
    public const string MarkerKey = ModelCheckpoint.RunCheckpointKey;

    private const string Marker = "forgetgate-run/2";

    // Files written before checkpoints were model files: flat tensors, no model metadata; still read for resume.
    private const string LegacyFormat = "forgetgate-run-checkpoint/1";

    /// <summary>Writes atomically and returns the SHA-256 (lower-case hex) of the bytes written.</summary>
    public static string Write(string path, RunCheckpointState state)
    {
        var model = ModelConfigOf(state);
        var metadata = new Dictionary<string, string>(state.Metadata, StringComparer.Ordinal);
        foreach (var (key, value) in model is null ? [] : ModelCheckpoint.ConfigMetadata(model))
        {
            metadata[key] = value;
        }

        metadata[MarkerKey] = Marker;
        metadata["position.task"] = state.Position.Task.ToString(CultureInfo.InvariantCulture);
        metadata["position.epoch"] = state.Position.Epoch.ToString(CultureInfo.InvariantCulture);
        metadata["position.batch"] = state.Position.Batch.ToString(CultureInfo.InvariantCulture);

        var shapes = model is null ? [] : ModelCheckpoint.ExpectedTensors(model).ToDictionary(t => t.Name, t => t.Shape, StringComparer.Ordinal);
        var tensors = state.Tensors
            .OrderBy(t => t.Key, StringComparer.Ordinal)
            .Select(t => SafetensorsTensor.FromFloat32(t.Key, ShapeOf(t.Key, t.Value.Length, shapes), t.Value));
        var file = new SafetensorsFile(tensors, metadata, path);
        byte[] bytes = file.ToBytes();
        AtomicFile.Write(path, bytes);
        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }

    /// <summary>Reads a checkpoint written by <see cref="Write"/> (or by an earlier version); errors name the file and what is wrong.</summary>
    public static RunCheckpointState Read(string path)
    {
        var file = SafetensorsFile.Read(path);
        bool current = file.Metadata.TryGetValue(MarkerKey, out var marker) && marker == Marker;
        bool legacy = file.Metadata.TryGetValue("format", out var format) && format == LegacyFormat;
        if (!current && !legacy)
        {
            throw new InvalidDataException($"'{path}' is not a run checkpoint: metadata '{MarkerKey}' is '{marker ?? "(missing)"}', expected '{Marker}'.");
        }

        var state = new RunCheckpointState(new RunPosition(Int(file, "position.task"), Int(file, "position.epoch"), Int(file, "position.batch")));
        foreach (var (key, value) in file.Metadata)
        {
            state.Metadata[key] = value;
        }

        foreach (var tensor in file.Tensors)
        {
            state.Tensors[tensor.Name] = tensor.AsFloat32();
        }

        return state;
    }

    /// <summary>
    /// The model a checkpoint state holds, from its variant and the sizes of its tensors (C from the head's bias,
    /// H from the head's [C, H], D from layer 0's [G·H, D]), every expected tensor then checked; null when the state
    /// is not a built-in variant's (such a model's tensors are written flat, as before, and still resume).
    /// </summary>
    internal static RecurrentModelConfig? ModelConfigOf(RunCheckpointState state)
    {
        Numerics.Cells.CellGraph? cell = null;
        if (state.Metadata.TryGetValue("cell", out var cellJson))
        {
            // A cell file's run: its definition travels in the metadata (DESIGN.md §4b), so the file is a model file too.
            cell = Numerics.Cells.CellGraph.Compile(Numerics.Cells.CellDefinition.FromJson(cellJson, "run checkpoint metadata 'cell'"));
        }

        var variant = Variant.Lstm;
        if (!state.Metadata.TryGetValue("variant", out var name) || (cell is null && !Variants.TryParse(name, out variant))
            || !state.Tensors.TryGetValue("head.weight", out var head) || !state.Tensors.TryGetValue("head.bias", out var bias)
            || !state.Tensors.TryGetValue("rnn.weight_ih_l0", out var input) || bias.Length < 1 || head.Length % bias.Length != 0)
        {
            return null;
        }

        int outputs = bias.Length;
        int hidden = head.Length / outputs;
        int layers = 0;
        while (state.Tensors.ContainsKey($"rnn.weight_ih_l{layers}"))
        {
            layers++;
        }

        int gates = (cell?.Blocks.Length ?? variant.GateCount()) * hidden;
        if (hidden < 1 || input.Length % gates != 0 || input.Length == 0)
        {
            return null;
        }

        int inputSize = input.Length / gates;

        var config = new RecurrentModelConfig(variant, inputSize, hidden, layers, outputs) { Cell = cell };
        foreach (var (tensor, shape) in ModelCheckpoint.ExpectedTensors(config))
        {
            if (!state.Tensors.TryGetValue(tensor, out var values) || values.Length != shape.Aggregate(1, (a, b) => a * b))
            {
                throw new InvalidDataException($"Run checkpoint state has no tensor '{tensor}' of [{string.Join(", ", shape)}] for a {config.VariantName} model of input_size {inputSize}, hidden {hidden}, {layers} layer(s), {outputs} outputs.");
            }
        }

        return config;
    }

    /// <summary>A parameter's shape for the parameter and for state that shadows it (<c>optim.exp_avg/rnn.bias_ih_l0</c>, <c>ewc.fisher.head.weight</c>); else flat.</summary>
    private static int[] ShapeOf(string name, int length, Dictionary<string, int[]> shapes)
    {
        if (shapes.TryGetValue(name, out var own))
        {
            return own;
        }

        foreach (var (parameter, shape) in shapes)
        {
            if (name.EndsWith(parameter, StringComparison.Ordinal) && name.Length > parameter.Length
                && name[^(parameter.Length + 1)] is '.' or '/' && shape.Aggregate(1, (a, b) => a * b) == length)
            {
                return shape;
            }
        }

        return [length];
    }

    private static int Int(SafetensorsFile file, string key) =>
        file.Metadata.TryGetValue(key, out var text) && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value)
            ? value
            : throw new InvalidDataException($"Run checkpoint '{file.Source}' lacks a valid '{key}' in its metadata.");
}
