using ForgetGate.Lab.Numerics.Models;

namespace ForgetGate.Lab.Numerics.Engines;

/// <summary>
/// THE ENGINE SEAM: everything the runner, <c>predict</c>, <c>bench</c>, the optimizers and the strategies need from
/// a model, whichever engine computes it (DESIGN.md §11). A network is a stacked recurrent net of
/// <see cref="Config"/> with a linear head on the last step's top hidden state: x [batch, steps, InputSize] → logits
/// [batch, Outputs].
/// <para>
/// The contract, which every engine honours and the parity tests check:
/// <list type="bullet">
/// <item><see cref="Parameters"/> are host float buffers in PyTorch state_dict order and names
/// (<c>rnn.weight_ih_l{k}</c> … <c>head.bias</c>, the layout of <see cref="Serialization.ModelCheckpoint"/>). Their
/// <see cref="Parameter.Value"/> arrays are the truth between calls: the optimizer, gradient clipping, a strategy, a
/// checkpoint load or the initialiser write them in place, and the next <see cref="Forward"/> must compute with the
/// values found there at that moment. An engine that keeps its own copies (libtorch tensors, GPU memory) uploads at
/// Forward; it never caches across a Forward.</item>
/// <item><see cref="Backward"/> overwrites every <see cref="Parameter.Gradient"/> (no accumulation) with dL/dθ for the
/// dL/dlogits it is given; on return the host arrays hold it, so strategies (EWC, SI, A-GEM, …) can read and
/// rewrite them before the optimizer step.</item>
/// <item>Optimizers (<see cref="Optim.Adam"/>, <see cref="Optim.Sgd"/>), clipping and losses run on those buffers
/// for every engine, so "our semantics" hold by construction and the checkpoint state (parameters + optimizer
/// moments + strategy) is the same files whichever engine wrote them.</item>
/// <item>The network holds no randomness: initial values come from <see cref="ParameterInit"/> drawing from the
/// run's RNG into <see cref="Parameters"/>, so every engine starts from identical parameters.</item>
/// </list>
/// Not thread-safe: one caller at a time. Engines come from <see cref="ModelEngines.Create"/>.
/// </para>
/// </summary>
public interface IRecurrentNetwork : IDisposable
{
    /// <summary>Name of the engine that computes this network (<c>managed</c>, <c>torch</c>, …).</summary>
    string Engine { get; }

    /// <summary>Shape and variant.</summary>
    RecurrentModelConfig Config { get; }

    /// <summary>Parameters in PyTorch state_dict order (rnn layers, then head); values and gradients as host buffers.</summary>
    IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>
    /// Runs the network on x [batch, steps, InputSize] (row-major) and writes logits [batch, Outputs]. With
    /// <paramref name="training"/> the activations are kept for <see cref="Backward"/>; without, an engine may skip that.
    /// Non-finite input is an <see cref="ArgumentException"/> naming its position.
    /// </summary>
    void Forward(ReadOnlySpan<float> x, int batch, int steps, Span<float> output, bool training);

    /// <summary>
    /// Backpropagates dOutput [batch, Outputs] (dL/dlogits of the last Forward, which must have had training = true)
    /// and overwrites every <see cref="Parameter.Gradient"/>.
    /// </summary>
    void Backward(ReadOnlySpan<float> dOutput);

    /// <summary>
    /// Copies the effective forget gate (σ(f) for the LSTM family and cifg, γ for ur-lstm, z for gru) of
    /// <paramref name="layer"/> at every step of the last Forward as [steps, batch, hidden]; returns the count written.
    /// </summary>
    int CopyForgetGates(int layer, Span<float> destination);
}
