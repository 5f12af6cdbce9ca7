using ForgetGate.Lab.Numerics.Models;

namespace ForgetGate.Lab.Numerics.Optim;

/// <summary>Validation shared by the optimizers' constructors and <c>SetState</c>.</summary>
internal static class OptimizerChecks
{
    public static void RequireUniqueNames(Parameter[] parameters)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in parameters)
        {
            ArgumentNullException.ThrowIfNull(p, nameof(parameters));
            if (!seen.Add(p.Name))
            {
                throw new ArgumentException($"Parameter name '{p.Name}' appears twice; optimizer state is keyed by name.", nameof(parameters));
            }
        }
    }

    public static void RequireKind(OptimizerState state, string kind)
    {
        if (!string.Equals(state.Kind, kind, StringComparison.Ordinal))
        {
            throw new ArgumentException($"Optimizer state is for '{state.Kind}', but this optimizer is '{kind}'.", nameof(state));
        }

        if (state.Step < 0)
        {
            throw new ArgumentException($"Optimizer state has a negative step count {state.Step}.", nameof(state));
        }
    }

    public static float[] RequireBuffer(OptimizerState state, string key, int length)
    {
        if (!state.Buffers.TryGetValue(key, out var buffer))
        {
            throw new ArgumentException($"Optimizer state has no buffer '{key}'.", nameof(state));
        }

        if (buffer is null || buffer.Length != length)
        {
            throw new ArgumentException($"Optimizer state buffer '{key}' has {buffer?.Length ?? 0} elements; expected {length}.", nameof(state));
        }

        return buffer;
    }

    public static void RequireNoExtraBuffers(OptimizerState state, int expected)
    {
        if (state.Buffers.Count != expected)
        {
            throw new ArgumentException($"Optimizer state has {state.Buffers.Count} buffers; expected {expected} (one per parameter and buffer kind).", nameof(state));
        }
    }
}
