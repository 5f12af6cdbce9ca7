namespace ForgetGate.Lab.Numerics.Optim;

/// <summary>Updates parameters from their gradients; its state can be saved in a checkpoint and restored.</summary>
public interface IOptimizer
{
    /// <summary>Applies one update using every parameter's current <c>Gradient</c>.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1716", Justification = "Same word as torch.optim's step(), which users know; VB consumers are not expected.")]
    void Step();

    /// <summary>A deep copy of the optimizer's state (step count and per-parameter buffers).</summary>
    OptimizerState GetState();

    /// <summary>Restores a state from <see cref="GetState"/>; throws if it does not fit these parameters.</summary>
    void SetState(OptimizerState state);
}
