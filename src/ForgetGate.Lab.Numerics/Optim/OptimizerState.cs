namespace ForgetGate.Lab.Numerics.Optim;

/// <summary>
/// Serializable optimizer state. Buffers are keyed <c>"{buffer}/{parameter name}"</c>
/// (e.g. <c>exp_avg/rnn.weight_ih_l0</c>) so a checkpoint can store them as named tensors.
/// </summary>
/// <param name="Kind">Optimizer kind, e.g. <c>adam</c> or <c>sgd</c>.</param>
/// <param name="Step">Number of steps taken.</param>
/// <param name="Buffers">Per-parameter buffers (copies).</param>
public sealed record OptimizerState(string Kind, long Step, IReadOnlyDictionary<string, float[]> Buffers);
