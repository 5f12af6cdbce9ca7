using BenchmarkDotNet.Running;
using ForgetGate.Lab.Benchmarks.Gemm;

namespace ForgetGate.Lab.Benchmarks;

/// <summary>
/// Entry point. <c>-- gemm</c>: our GEMM next to OpenBLAS on the LSTM shapes; <c>-- data</c>: batch assembly; <c>-- inference [H …]</c>: the inference path against the training-layout forward (CPU time); <c>-- cell-inference [H …]</c>: cell files' inference against the fused lstm (CPU time); <c>-- claims [N]</c>: queue claims/s on SQLite and PostgreSQL;
/// <c>-- strategies SPEC</c>: continual-learning strategies' forgetting and cost relative to naive;
/// otherwise BenchmarkDotNet, e.g. <c>-- --filter '*'</c>.
/// </summary>
internal static class Program
{
    private static void Main(string[] args)
    {
        if (args is ["gemm", ..])
        {
            GemmVersusOpenBlas.Run();
            return;
        }

        if (args is ["inference", ..])
        {
            Models.InferencePath.Run(args);
            return;
        }

        if (args is ["cell-inference", ..])
        {
            Models.CellInferencePath.Run(args);
            return;
        }

        if (args is ["data", ..])
        {
            Data.BatchAssembly.Run();
            return;
        }

        if (args is ["strategies", ..])
        {
            Strategies.StrategyComparison.Run(args);
            return;
        }

        if (args is ["claims", ..])
        {
            Store.ClaimThroughput.Run(args);
            return;
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
