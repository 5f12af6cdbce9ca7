using System.Runtime.InteropServices;
using ForgetGate.Lab.Numerics.Engines;
using TorchSharp;

namespace ForgetGate.Lab.Torch;

/// <summary>Loads libtorch once per process and turns a failure into one sentence that names the library and the fix.</summary>
internal static class TorchRuntime
{
    private static readonly Lock s_lock = new();
    private static readonly string[] s_libraries = ["libtorch_cpu.so", "libLibTorchSharp.so"];
    private static string? s_failure;
    private static bool s_loaded;
    private static int s_threads;

    /// <summary>Where TorchSharp looks first: runtimes/linux-x64/native beside TorchSharp.dll (the build's output).</summary>
    internal static string NativeDirectory =>
        Path.Combine(Path.GetDirectoryName(typeof(torch).Assembly.Location) ?? AppContext.BaseDirectory, "runtimes", "linux-x64", "native");

    public static void EnsureLoaded()
    {
        lock (s_lock)
        {
            if (s_loaded)
            {
                return;
            }

            s_failure ??= TryLoad();
            if (s_failure.Length > 0)
            {
                throw new EngineUnavailableException(s_failure);
            }

            s_loaded = true;
        }
    }

    /// <summary>libtorch's intra-op threads are process-wide; set them when a network of another count runs.</summary>
    public static void UseThreads(int threads)
    {
        if (s_threads != threads)
        {
            torch.set_num_threads(threads);
            s_threads = threads;
        }
    }

    private static string TryLoad()
    {
        const string Fix = "build or publish the forgetgate project so that the NuGet package libtorch-cpu-linux-x64 2.10.0 is copied beside it " +
            "(the build marks the GLIBCXX_3.4.32 need of libLibTorchSharp.so weak so it loads on Debian 12), or choose model.engine: managed";
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            return $"The torch engine ships libtorch for linux-x64 only and this machine is {RuntimeInformation.RuntimeIdentifier}; reference a libtorch package for it or choose model.engine: managed.";
        }

        string dir = NativeDirectory;
        string bridge = Path.Combine(dir, "libLibTorchSharp.so");
        string[] missing = [.. s_libraries.Where(f => !File.Exists(Path.Combine(dir, f)))];
        if (missing.Length > 0)
        {
            return $"The torch engine needs {string.Join(" and ", missing)} in {dir}, and {(missing.Length == 1 ? "it is" : "they are")} missing; {Fix}.";
        }

        // Load the bridge ourselves first: dlopen's own message (a missing symbol version, a missing dependency) is the
        // useful part, and TorchSharp's exception buries it under a page of probing notes.
        if (!TryLoadWithMessage(Path.Combine(dir, "libtorch_cpu.so"), out string why) || !TryLoadWithMessage(bridge, out why))
        {
            return $"The torch engine cannot load libtorch from {dir} ({OneLine(why)}); {Fix}.";
        }

        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
            return "";
        }
        catch (Exception e) when (e is DllNotFoundException or NotSupportedException or TypeInitializationException or InvalidOperationException or ExternalException)
        {
            return $"The torch engine cannot initialise libtorch from {dir} ({OneLine(e.Message)}); {Fix}.";
        }
    }

    private static bool TryLoadWithMessage(string path, out string message)
    {
        try
        {
            NativeLibrary.Load(path);
            message = "";
            return true;
        }
        catch (DllNotFoundException e)
        {
            message = e.Message;
            return false;
        }
        catch (BadImageFormatException e)
        {
            message = e.Message;
            return false;
        }
    }

    /// <summary>
    /// The line of a loader message that says why: .NET's DllNotFoundException opens with a generic paragraph ("Unable to
    /// load shared library … consider setting LD_DEBUG:") and puts dlerror's text (e.g. "version `GLIBCXX_3.4.32' not
    /// found (required by …)") on the following lines.
    /// </summary>
    private static string OneLine(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string why = lines.Skip(1).FirstOrDefault() ?? lines.FirstOrDefault() ?? "no reason given";
        return why.TrimEnd('.', ' ');
    }
}
