namespace ForgetGate.Lab.Gpu.Tests;

/// <summary>One CPU-accelerator device shared by the tests of a class (kernels compile once per accelerator).</summary>
public sealed class DeviceFixture : IDisposable
{
    public DeviceFixture() => Device = GpuDevice.Open(GpuPreference.Cpu);

    public GpuDevice Device { get; }

    public void Dispose() => Device.Dispose();
}
