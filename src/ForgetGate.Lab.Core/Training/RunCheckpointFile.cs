using System.Globalization;
using System.Security.Cryptography;
using ForgetGate.Lab.Numerics.Serialization;

namespace ForgetGate.Lab.Core.Training;

/// <summary>
/// A run checkpoint as one <c>.safetensors</c> file: model parameters under their state_dict names (so the file
/// also loads in PyTorch), optimizer and strategy tensors under prefixes, and the position and scalars as metadata.
/// </summary>
internal static class RunCheckpointFile
{
    private const string Format = "forgetgate-run-checkpoint/1";

    /// <summary>Writes atomically and returns the SHA-256 (lower-case hex) of the bytes written.</summary>
    public static string Write(string path, RunCheckpointState state)
    {
        var metadata = new Dictionary<string, string>(state.Metadata, StringComparer.Ordinal)
        {
            ["format"] = Format,
            ["position.task"] = state.Position.Task.ToString(CultureInfo.InvariantCulture),
            ["position.epoch"] = state.Position.Epoch.ToString(CultureInfo.InvariantCulture),
            ["position.batch"] = state.Position.Batch.ToString(CultureInfo.InvariantCulture),
        };
        var tensors = state.Tensors
            .OrderBy(t => t.Key, StringComparer.Ordinal)
            .Select(t => SafetensorsTensor.FromFloat32(t.Key, [t.Value.Length], t.Value));
        var file = new SafetensorsFile(tensors, metadata, path);
        byte[] bytes = file.ToBytes();
        AtomicFile.Write(path, bytes);
        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }

    /// <summary>Reads a checkpoint written by <see cref="Write"/>; errors name the file and what is wrong.</summary>
    public static RunCheckpointState Read(string path)
    {
        var file = SafetensorsFile.Read(path);
        if (!file.Metadata.TryGetValue("format", out var format) || format != Format)
        {
            throw new InvalidDataException($"'{path}' is not a run checkpoint: metadata 'format' is '{format ?? "(missing)"}', expected '{Format}'.");
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

    private static int Int(SafetensorsFile file, string key) =>
        file.Metadata.TryGetValue(key, out var text) && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value)
            ? value
            : throw new InvalidDataException($"Run checkpoint '{file.Source}' lacks a valid '{key}' in its metadata.");
}
