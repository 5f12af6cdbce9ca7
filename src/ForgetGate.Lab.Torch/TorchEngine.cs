using ForgetGate.Lab.Numerics.Engines;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Threading;

namespace ForgetGate.Lab.Torch;

/// <summary>
/// The <c>torch</c> engine (DESIGN.md §11): the same variants on libtorch 2.10 through TorchSharp, nn.LSTM/nn.GRU where
/// they compute exactly our equations and explicit cells with autograd elsewhere. Register it once with
/// <c>ModelEngines.Register(TorchEngine.Instance)</c>; creating a network loads libtorch and throws
/// <see cref="EngineUnavailableException"/> (one sentence: the missing library and the fix) when it cannot.
/// </summary>
public sealed class TorchEngine : IModelEngine
{
    /// <summary>The engine's name in specs and on the command line.</summary>
    public const string EngineName = "torch";

    /// <summary>The one instance.</summary>
    public static TorchEngine Instance { get; } = new();

    /// <inheritdoc />
    public string Name => EngineName;

    /// <inheritdoc />
    public IRecurrentNetwork Create(RecurrentModelConfig config, ComputePool pool)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(pool);
        TorchRuntime.EnsureLoaded();
        return new TorchNetwork(config.Validate(), pool.Threads);
    }
}
