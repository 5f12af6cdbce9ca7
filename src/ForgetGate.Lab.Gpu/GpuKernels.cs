using ForgetGate.Lab.Gpu.Kernels;
using ILGPU;
using ILGPU.Runtime;

namespace ForgetGate.Lab.Gpu;

/// <summary>The engine's kernels compiled for one accelerator, as launch delegates on its default stream.</summary>
internal sealed class GpuKernels
{
    /// <summary>Every kernel method, and whether it is explicitly grouped (the rest are auto-grouped).</summary>
    public static IReadOnlyList<(System.Reflection.MethodInfo Method, bool ExplicitlyGrouped)> Methods { get; } =
    [
        (Info(BatchedGemm.Kernel), true),
        (Info(LstmFamilyCells.Forward), false),
        (Info(LstmFamilyCells.Backward), false),
        (Info(GruCell.Forward), false),
        (Info(GruCell.Backward), false),
        (Info(CellPrograms.Forward), false),
        (Info(CellPrograms.Backward), false),
        (Info(Layout.TimeMajor), false),
        (Info(Layout.InputBias), false),
        (Info(Layout.ColumnSums), false),
        (Info(Layout.ZeroPrefix), false),
        (Info(Layout.ForgetBiasGradient), false),
        (Info(SoftmaxLoss.Rows), false),
        (Info(SoftmaxLoss.Mean), false),
        (Info(Optimizers.Adam), false),
        (Info(Optimizers.Sgd), false),
        (Info(Clipping.ChunkSquares), false),
        (Info(Clipping.Coefficients), false),
    ];

    public GpuKernels(Accelerator accelerator)
    {
        Gemm = accelerator.LoadStreamKernel<GemmArgs, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(BatchedGemm.Kernel);
        LstmForward = accelerator.LoadAutoGroupedStreamKernel<Index2D, CellArgs, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(LstmFamilyCells.Forward);
        LstmBackward = accelerator.LoadAutoGroupedStreamKernel<Index2D, CellArgs, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(LstmFamilyCells.Backward);
        GruForward = accelerator.LoadAutoGroupedStreamKernel<Index2D, CellArgs, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, ArrayView<float>, ArrayView<float>>(GruCell.Forward);
        GruBackward = accelerator.LoadAutoGroupedStreamKernel<Index2D, CellArgs, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(GruCell.Backward);
        CellForward = accelerator.LoadAutoGroupedStreamKernel<Index2D, CellProgramArgs, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(CellPrograms.Forward);
        CellBackward = accelerator.LoadAutoGroupedStreamKernel<Index2D, CellProgramArgs, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(CellPrograms.Backward);
        TimeMajor = accelerator.LoadAutoGroupedStreamKernel<Index2D, int, int, int, ArrayView<float>, ArrayView<float>>(Layout.TimeMajor);
        InputBias = accelerator.LoadAutoGroupedStreamKernel<Index2D, int, int, int, int, int, int, ArrayView<float>, ArrayView<float>, int>(Layout.InputBias);
        ColumnSums = accelerator.LoadAutoGroupedStreamKernel<Index2D, int, int, ArrayView<float>, int, ArrayView<float>, int>(Layout.ColumnSums);
        ZeroPrefix = accelerator.LoadAutoGroupedStreamKernel<Index2D, int, ArrayView<float>>(Layout.ZeroPrefix);
        ForgetBiasGradient = accelerator.LoadAutoGroupedStreamKernel<Index2D, int, int, int, int, ArrayView<float>>(Layout.ForgetBiasGradient);
        LossRows = accelerator.LoadAutoGroupedStreamKernel<Index2D, int, int, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>>(SoftmaxLoss.Rows);
        LossMean = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, ArrayView<float>>(SoftmaxLoss.Mean);
        Adam = accelerator.LoadAutoGroupedStreamKernel<Index2D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>>(Optimizers.Adam);
        Sgd = accelerator.LoadAutoGroupedStreamKernel<Index2D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>>(Optimizers.Sgd);
        ClipSquares = accelerator.LoadAutoGroupedStreamKernel<Index2D, int, ArrayView<float>, ArrayView<int>, ArrayView<double>, int>(Clipping.ChunkSquares);
        ClipCoefficients = accelerator.LoadAutoGroupedStreamKernel<Index1D, int, int, ArrayView<int>, ArrayView<double>, float, ArrayView<float>, ArrayView<float>>(Clipping.Coefficients);
    }

    public Action<KernelConfig, GemmArgs, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>> Gemm { get; }

    public Action<Index2D, CellArgs, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>> LstmForward { get; }

    public Action<Index2D, CellArgs, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>> LstmBackward { get; }

    public Action<Index2D, CellArgs, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, ArrayView<float>, ArrayView<float>> GruForward { get; }

    public Action<Index2D, CellArgs, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>> GruBackward { get; }

    public Action<Index2D, CellProgramArgs, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>> CellForward { get; }

    public Action<Index2D, CellProgramArgs, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>> CellBackward { get; }

    public Action<Index2D, int, int, int, ArrayView<float>, ArrayView<float>> TimeMajor { get; }

    public Action<Index2D, int, int, int, int, int, int, ArrayView<float>, ArrayView<float>, int> InputBias { get; }

    public Action<Index2D, int, int, ArrayView<float>, int, ArrayView<float>, int> ColumnSums { get; }

    public Action<Index2D, int, ArrayView<float>> ZeroPrefix { get; }

    public Action<Index2D, int, int, int, int, ArrayView<float>> ForgetBiasGradient { get; }

    public Action<Index2D, int, int, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>> LossRows { get; }

    public Action<Index1D, int, ArrayView<float>, ArrayView<float>> LossMean { get; }

    public Action<Index2D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>> Adam { get; }

    public Action<Index2D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>> Sgd { get; }

    public Action<Index2D, int, ArrayView<float>, ArrayView<int>, ArrayView<double>, int> ClipSquares { get; }

    public Action<Index1D, int, int, ArrayView<int>, ArrayView<double>, float, ArrayView<float>, ArrayView<float>> ClipCoefficients { get; }

    private static System.Reflection.MethodInfo Info(Delegate kernel) => kernel.Method;
}
