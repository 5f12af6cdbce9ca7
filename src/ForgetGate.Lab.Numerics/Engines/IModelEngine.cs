using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Threading;

namespace ForgetGate.Lab.Numerics.Engines;

/// <summary>Builds networks of one engine; registered with <see cref="ModelEngines.Register"/>.</summary>
public interface IModelEngine
{
    /// <summary>The name specs use in <c>model.engine</c> and commands in <c>--engine</c>.</summary>
    string Name { get; }

    /// <summary>
    /// A network of <paramref name="config"/> with zero parameters (initialise with <see cref="ParameterInit"/> or load
    /// values). <paramref name="pool"/> says how many threads the run may use. Throws
    /// <see cref="EngineUnavailableException"/> when the engine cannot run on this machine.
    /// </summary>
    IRecurrentNetwork Create(RecurrentModelConfig config, ComputePool pool);
}
