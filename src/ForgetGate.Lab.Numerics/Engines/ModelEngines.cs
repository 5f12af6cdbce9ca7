using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Threading;

namespace ForgetGate.Lab.Numerics.Engines;

/// <summary>
/// The engines this program knows, by name. <c>managed</c> is always there; other engines live in their own projects
/// (ForgetGate.Lab.Torch, …) and the host that references them registers them once at start-up (the CLI's
/// Program), so Core and the runner never reference an engine project. A name that specs allow but this program
/// lacks fails with <see cref="EngineUnavailableException"/>.
/// </summary>
public static class ModelEngines
{
    private static readonly Lock s_lock = new();
    private static readonly Dictionary<string, IModelEngine> s_engines = new(StringComparer.Ordinal) { [ManagedEngine.EngineName] = ManagedEngine.Instance };

    /// <summary>Every engine name a spec's <c>model.engine</c> or a command's <c>--engine</c> may give; the default first.</summary>
    public static IReadOnlyList<string> KnownNames { get; } = [ManagedEngine.EngineName, "torch", "gpu"];

    /// <summary>The default engine's name.</summary>
    public static string Default => ManagedEngine.EngineName;

    /// <summary>Adds (or replaces) an engine; idempotent for the same instance.</summary>
    public static void Register(IModelEngine engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        if (!KnownNames.Contains(engine.Name))
        {
            throw new ArgumentException($"Engine name '{engine.Name}' is not one of {string.Join(", ", KnownNames)}; add it to ModelEngines.KnownNames and the spec schema.", nameof(engine));
        }

        lock (s_lock)
        {
            s_engines[engine.Name] = engine;
        }
    }

    /// <summary>Whether <paramref name="name"/> is registered in this program.</summary>
    public static bool IsRegistered(string name)
    {
        lock (s_lock)
        {
            return s_engines.ContainsKey(name);
        }
    }

    /// <summary>The registered engine of that name; the error names the choices and the fix.</summary>
    public static IModelEngine Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        lock (s_lock)
        {
            if (s_engines.TryGetValue(name, out var engine))
            {
                return engine;
            }
        }

        if (!KnownNames.Contains(name))
        {
            throw new EngineUnavailableException($"Unknown engine '{name}'; expected one of {string.Join(", ", KnownNames)}.");
        }

        throw new EngineUnavailableException($"Engine '{name}' is not part of this program; run it through the forgetgate command (which registers it) or reference its project and call ModelEngines.Register.");
    }

    /// <summary>A network of the named engine with zero parameters; see <see cref="IModelEngine.Create"/>.</summary>
    public static IRecurrentNetwork Create(string engine, RecurrentModelConfig config, ComputePool? pool = null) =>
        Get(engine).Create(config, pool ?? ComputePool.SingleThreaded);
}
