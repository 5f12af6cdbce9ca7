using System.Globalization;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace ForgetGate.Lab.Gpu;

/// <summary>Which accelerator <see cref="GpuDevice.Open"/> takes.</summary>
public enum GpuPreference
{
    /// <summary>The first CUDA GPU, else ILGPU's CPU accelerator.</summary>
    Auto,

    /// <summary>A CUDA GPU or an error.</summary>
    Cuda,

    /// <summary>ILGPU's CPU accelerator (runs the same kernels on CPU threads; for tests and machines without a GPU).</summary>
    Cpu,
}

/// <summary>
/// An ILGPU context and one accelerator with the engine's kernels loaded on it. The host side owns every buffer and
/// launch; kernels never allocate. One device serves any number of <see cref="GpuRecurrentBatch"/> objects in turn
/// (ILGPU launches on one stream, so they must not be driven from several threads at once).
/// </summary>
public sealed class GpuDevice : IDisposable
{
    // The CPU accelerator simulates every thread of a group as a CPU thread meeting the others at each barrier, so
    // its groups are kept at 16 threads (GEMM groups of 4×4). The wide device (256 threads, the GPU's 16×16 GEMM
    // groups) exists so tests can run the GPU's tile shape too.
    private static readonly CPUDevice s_cpuDevice = new(numThreadsPerWarp: 4, numWarpsPerMultiprocessor: 4, numMultiprocessors: 2);
    private static readonly CPUDevice s_wideCpuDevice = new(numThreadsPerWarp: 32, numWarpsPerMultiprocessor: 8, numMultiprocessors: 1);

    private readonly Context _context;
    private GpuKernels? _kernels;

    private GpuDevice(Context context, Accelerator accelerator)
    {
        _context = context;
        Accelerator = accelerator;
    }

    /// <summary>Held around every use of the accelerator: ILGPU launches on one stream, so one caller at a time.</summary>
    public Lock Gate { get; } = new();

    /// <summary>The ILGPU accelerator.</summary>
    internal Accelerator Accelerator { get; }

    /// <summary>The compiled kernels (compiled on first use; ILGPU caches them per accelerator).</summary>
    internal GpuKernels Kernels => _kernels ??= new GpuKernels(Accelerator);

    /// <summary>Threads per side of a GEMM group: 16 where a group may hold 256 threads, else 4.</summary>
    internal int GemmThreads => Accelerator.MaxNumThreadsPerGroup >= 256 ? 16 : 4;

    /// <summary>True for a CUDA GPU, false for the CPU accelerator.</summary>
    public bool IsCuda => Accelerator.AcceleratorType == AcceleratorType.Cuda;

    /// <summary>One line: kind, name, memory.</summary>
    public string Description => Describe(Accelerator.Device);

    /// <summary>Opens an accelerator; <see cref="GpuPreference.Cuda"/> without a usable GPU throws, naming what was found.</summary>
    public static GpuDevice Open(GpuPreference preference = GpuPreference.Auto) => Open(preference, wideCpuGroups: false);

    /// <summary>As <see cref="Open(GpuPreference)"/>; a CPU accelerator with 256-thread groups when asked (tests of the GPU's tile shape).</summary>
    internal static GpuDevice Open(GpuPreference preference, bool wideCpuGroups)
    {
        var context = CreateContext(wideCpuGroups);
        try
        {
            var cuda = context.GetCudaDevices();
            if (preference != GpuPreference.Cpu && cuda.Count > 0)
            {
                return new GpuDevice(context, cuda[0].CreateAccelerator(context));
            }

            if (preference == GpuPreference.Cuda)
            {
                throw new InvalidOperationException(
                    "No CUDA GPU found (ILGPU loads the driver's libcuda.so; is the NVIDIA driver installed and a GPU visible?). " +
                    "Accelerators present: " + string.Join("; ", context.Devices.Select(Describe)) + ".");
            }

            return new GpuDevice(context, context.CreateCPUAccelerator(0, CPUAcceleratorMode.Parallel));
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <summary>Every accelerator ILGPU can see here, one line each (for <c>forgetgate info</c>).</summary>
    public static IReadOnlyList<string> ListAccelerators()
    {
        using var context = CreateContext(wideCpuGroups: false);
        return [.. context.Devices.Select(Describe)];
    }

    /// <summary>Waits for every launched kernel to finish.</summary>
    public void Synchronize() => Accelerator.Synchronize();

    /// <inheritdoc />
    public void Dispose()
    {
        Accelerator.Dispose();
        _context.Dispose();
    }

    private static Context CreateContext(bool wideCpuGroups) =>
        Context.Create(builder => builder.Cuda().CPU(wideCpuGroups ? s_wideCpuDevice : s_cpuDevice).EnableAlgorithms().Optimize(OptimizationLevel.O2));

    private static string Describe(Device device) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{device.AcceleratorType}: {device.Name}{(device.AcceleratorType == AcceleratorType.CPU ? "" : $", {device.MemorySize / (1024.0 * 1024 * 1024):F1} GiB")}, {device.NumMultiprocessors} multiprocessors, max {device.MaxNumThreadsPerGroup} threads/group");
}
