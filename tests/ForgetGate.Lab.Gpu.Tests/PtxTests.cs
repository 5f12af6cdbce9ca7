using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using Xunit.Abstractions;

namespace ForgetGate.Lab.Gpu.Tests;

/// <summary>
/// Every kernel compiles to PTX here, without a GPU, for the architecture of the machines the engine was sized on
/// (H100/H200, sm_90), and the PTX holds no instruction CUDA 13's ptxas rejects.
/// </summary>
public sealed class PtxTests(ITestOutputHelper output)
{
    [Fact]
    public void EveryKernel_CompilesToPtx_WithoutTanhApprox()
    {
        using var context = Context.Create(b => b.EnableAlgorithms().Optimize(OptimizationLevel.O2));
        using var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_90), CudaArchitecture.SM_90, CudaInstructionSet.ISA_83, null);
        foreach (var (method, explicitlyGrouped) in GpuKernels.Methods)
        {
            var entry = explicitlyGrouped
                ? EntryPointDescription.FromExplicitlyGroupedKernel(method)
                : EntryPointDescription.FromImplicitlyGroupedKernel(method);
            var compiled = (PTXCompiledKernel)backend.Compile(entry, KernelSpecialization.Empty);
            string ptx = compiled.PTXAssembly;
            output.WriteLine($"{method.DeclaringType!.Name}.{method.Name}: {ptx.Length} chars");
            if (Environment.GetEnvironmentVariable("FORGETGATE_DUMP_PTX") is { Length: > 0 } dir)
            {
                File.WriteAllText(Path.Combine(dir, $"{method.DeclaringType!.Name}.{method.Name}.ptx"), ptx);
            }

            Assert.DoesNotContain("tanh.approx", ptx, StringComparison.Ordinal);
            Assert.Contains(".entry", ptx, StringComparison.Ordinal);
        }
    }
}
