using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace ForgetGate.Lab.Cli.Worker;

/// <summary>What a run records about where it ran (DESIGN.md §9): CPU, cores, runtime, OS, code version.</summary>
internal static class WorkerEnvironment
{
    public static string CodeVersion() =>
        typeof(WorkerEnvironment).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    public static string Describe(int? threadsPerRun = null)
    {
        var values = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["cpu"] = CpuModel(),
            ["cores"] = Environment.ProcessorCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["runtime"] = RuntimeInformation.FrameworkDescription,
            ["os"] = $"{RuntimeInformation.OSDescription} {RuntimeInformation.OSArchitecture}",
        };
        if (threadsPerRun is { } threads)
        {
            values["threads"] = threads.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return JsonSerializer.Serialize(values, WorkerJsonContext.Default.SortedDictionaryStringString);
    }

    private static string CpuModel()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
            {
                string? line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
                if (line is not null)
                {
                    return line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
                }
            }
        }
        catch (IOException)
        {
        }

        return RuntimeInformation.ProcessArchitecture.ToString();
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(SortedDictionary<string, string>))]
internal sealed partial class WorkerJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
