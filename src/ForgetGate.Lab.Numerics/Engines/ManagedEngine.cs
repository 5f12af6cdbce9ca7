using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Threading;

namespace ForgetGate.Lab.Numerics.Engines;

/// <summary>Our own engine: the fused kernels of DESIGN.md §3 (<see cref="RecurrentModel"/>), bit-identical for any thread count.</summary>
public sealed class ManagedEngine : IModelEngine
{
    /// <summary>The engine's name in specs and on the command line.</summary>
    public const string EngineName = "managed";

    /// <summary>The one instance.</summary>
    public static ManagedEngine Instance { get; } = new();

    /// <inheritdoc />
    public string Name => EngineName;

    /// <inheritdoc />
    public IRecurrentNetwork Create(RecurrentModelConfig config, ComputePool pool) => new RecurrentModel(config, pool);
}
