using ForgetGate.Lab.Numerics.Models;

namespace ForgetGate.Lab.Gpu.Kernels;

/// <summary>The cell equations a kernel runs, as an int the kernels branch on (uniformly across a launch).</summary>
internal static class CellKinds
{
    /// <summary>lstm, lstm-fb1 and chrono share equations; only their initialisation differs.</summary>
    public const int Lstm = 0;
    public const int Cifg = 1;
    public const int Gru = 2;
    public const int UrLstm = 3;

    /// <summary>A cell file: the layer runs <see cref="CellPrograms"/> instead of a fused cell kernel.</summary>
    public const int Program = 4;

    public static int Of(Variant variant) => variant switch
    {
        Variant.Cifg => Cifg,
        Variant.Gru => Gru,
        Variant.UrLstm => UrLstm,
        _ => Lstm,
    };
}
