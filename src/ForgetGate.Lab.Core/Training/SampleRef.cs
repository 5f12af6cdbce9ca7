namespace ForgetGate.Lab.Core.Training;

/// <summary>One training or evaluation sample: task index (0-based) and sample index within that task's split.</summary>
/// <remarks>Strategies keep references, never copies: the task sequence applies its transform when a batch is built.</remarks>
public readonly record struct SampleRef(int Task, int Index);
