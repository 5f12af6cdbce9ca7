using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ForgetGate.Lab.Cli.Commands;

/// <summary><c>forgetgate info</c>: the environment a run records (runtime, CPU, vector width).</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var command = new Command("info", "Print the runtime, CPU and SIMD support that runs record, and the ILGPU accelerators (gpu engine).\nExample: forgetgate info");
        command.SetAction(_ =>
        {
            var inv = CultureInfo.InvariantCulture;
            Console.WriteLine(string.Create(inv, $"runtime      {RuntimeInformation.FrameworkDescription}"));
            Console.WriteLine(string.Create(inv, $"os           {RuntimeInformation.OSDescription} {RuntimeInformation.OSArchitecture}"));
            Console.WriteLine(string.Create(inv, $"cores        {Environment.ProcessorCount}"));
            Console.WriteLine(string.Create(inv, $"vector256    {Vector256.IsHardwareAccelerated}"));
            Console.WriteLine(string.Create(inv, $"vector512    {Vector512.IsHardwareAccelerated} (runtime preference); AVX-512 ISA {System.Runtime.Intrinsics.X86.Avx512F.IsSupported} (used by the product kernel)"));
            try
            {
                foreach (var line in ForgetGate.Lab.Gpu.GpuDevice.ListAccelerators())
                {
                    Console.WriteLine("accelerator  " + line);
                }
            }
            catch (Exception e) when (e is InvalidOperationException or DllNotFoundException or TypeInitializationException or NotSupportedException)
            {
                Console.WriteLine("accelerator  (ILGPU could not list accelerators: " + e.Message + ")");
            }

            return 0;
        });
        return command;
    }
}
