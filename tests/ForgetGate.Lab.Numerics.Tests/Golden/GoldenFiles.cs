using ForgetGate.Lab.Numerics.Serialization;

namespace ForgetGate.Lab.Numerics.Tests.Golden;

/// <summary>Locates the PyTorch golden files (Golden/data, copied to the output folder as golden/).</summary>
internal static class GoldenFiles
{
    public static string Directory { get; } = Path.Combine(AppContext.BaseDirectory, "golden");

    public static string Checkpoint(string variant, int layers) => Path.Combine(Directory, $"ckpt_{variant}_l{layers}.safetensors");

    public static SafetensorsFile Case(string variant, int layers) => SafetensorsFile.Read(Path.Combine(Directory, $"golden_{variant}_l{layers}.safetensors"));

    public static SafetensorsFile Optim() => SafetensorsFile.Read(Path.Combine(Directory, "optim.safetensors"));

    /// <summary>Every (variant name, layers) case make_goldens.py writes.</summary>
    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var v in new[] { "lstm", "lstm-fb1", "cifg", "gru", "ur-lstm", "chrono" })
        {
            data.Add(v, 1);
            data.Add(v, 2);
        }

        return data;
    }
}
