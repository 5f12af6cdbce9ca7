namespace ForgetGate.Lab.Core.Training;

/// <summary>Everything a run needs to continue exactly where it stopped: named float tensors and string metadata.</summary>
internal sealed class RunCheckpointState(RunPosition position)
{
    public RunPosition Position { get; } = position;

    /// <summary>Model parameters (state_dict names), optimizer buffers (<c>optim.*</c>), strategy tensors (<c>ewc.*</c>).</summary>
    public Dictionary<string, float[]> Tensors { get; } = new(StringComparer.Ordinal);

    /// <summary>Scalars and small structures as invariant-culture strings.</summary>
    public Dictionary<string, string> Metadata { get; } = new(StringComparer.Ordinal);
}
