using System.Runtime.InteropServices;

namespace ForgetGate.Lab.Benchmarks.Models;

/// <summary>CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID; Linux): what a shared machine's waiting leaves out.</summary>
internal static class ThreadCpu
{
    public static double Seconds()
    {
        _ = ClockGetTime(3, out var ts);
        return ts.Seconds + (ts.Nanoseconds * 1e-9);
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out Timespec value);

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
