using BenchmarkDotNet.Running;

namespace ForgetGate.Lab.Benchmarks;

/// <summary>Entry point: <c>dotnet run -c Release --project tests/ForgetGate.Lab.Benchmarks -- --filter '*'</c>.</summary>
internal static class Program
{
    private static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
