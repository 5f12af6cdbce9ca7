using System.Globalization;
using ForgetGate.Lab.Numerics.Optim;

namespace ForgetGate.Lab.Numerics.Serialization;

/// <summary>
/// Optimizer state as a safetensors file: one F32 tensor per buffer (named as the state's keys, e.g.
/// <c>exp_avg/rnn.weight_ih_l0</c>) and <c>__metadata__</c> fields <c>optimizer</c> and <c>step</c>.
/// </summary>
public static class OptimizerCheckpoint
{
    /// <summary>Converts a state to a file (buffers copied).</summary>
    public static SafetensorsFile ToFile(OptimizerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var tensors = state.Buffers
            .OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => SafetensorsTensor.FromFloat32(kv.Key, [kv.Value.Length], (float[])kv.Value.Clone()));
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["optimizer"] = state.Kind,
            ["step"] = state.Step.ToString(CultureInfo.InvariantCulture),
        };
        return new SafetensorsFile(tensors, metadata);
    }

    /// <summary>Writes the state atomically (temp file + rename).</summary>
    public static void Save(string path, OptimizerState state) => ToFile(state).Write(path);

    /// <summary>Reads a state; the optimizer's <c>SetState</c> then checks it against its parameters.</summary>
    public static OptimizerState Load(string path) => FromFile(SafetensorsFile.Read(path));

    /// <summary>Converts a parsed file back to a state; errors name the file and the problem.</summary>
    public static OptimizerState FromFile(SafetensorsFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (!file.Metadata.TryGetValue("optimizer", out var kind) || kind.Length == 0)
        {
            throw new InvalidDataException($"{file.Source}: __metadata__ has no 'optimizer' field; not an optimizer state file.");
        }

        if (!file.Metadata.TryGetValue("step", out var stepText)
            || !long.TryParse(stepText, NumberStyles.None, CultureInfo.InvariantCulture, out long step))
        {
            throw new InvalidDataException($"{file.Source}: metadata 'step' is '{stepText}'; expected a non-negative integer.");
        }

        var buffers = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var t in file.Tensors)
        {
            if (t.DType != SafetensorsDType.F32 || t.Shape.Count != 1)
            {
                throw new InvalidDataException($"{file.Source}: buffer '{t.Name}' is {t.DType} [{string.Join(", ", t.Shape)}]; expected a 1-D F32 tensor.");
            }

            buffers.Add(t.Name, t.AsFloat32());
        }

        return new OptimizerState(kind, step, buffers);
    }
}
