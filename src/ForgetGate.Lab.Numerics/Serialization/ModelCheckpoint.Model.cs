using ForgetGate.Lab.Numerics.Engines;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Threading;

namespace ForgetGate.Lab.Numerics.Serialization;

/// <summary>Save/Load of a network of any engine (the layout is the engines' common one).</summary>
public static partial class ModelCheckpoint
{
    /// <summary>Writes the model's parameters and config atomically (temp file + rename).</summary>
    public static void Save(IRecurrentNetwork model, string path, IReadOnlyDictionary<string, string>? extraMetadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        Save(path, model.Config, model.Parameters, extraMetadata);
    }

    /// <summary>Reads, validates and builds a managed model; the error names the file and the problem, and nothing is half-loaded.</summary>
    public static RecurrentModel Load(string path, ComputePool? pool = null) => (RecurrentModel)Load(path, ManagedEngine.EngineName, pool);

    /// <summary>Reads, validates and builds a network of <paramref name="engine"/>; nothing is half-loaded.</summary>
    public static IRecurrentNetwork Load(string path, string engine, ComputePool? pool = null)
    {
        var data = Read(path);
        var model = ModelEngines.Create(engine, data.Config, pool);
        try
        {
            data.CopyTo(model.Parameters);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
