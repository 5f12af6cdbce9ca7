using System.Diagnostics;
using System.Runtime;

namespace ForgetGate.Lab.Core.Training;

/// <summary>
/// Runs a step until the JIT has settled, so that what is timed next is optimized code, not tier-0 code or code
/// waiting for its tier-1 compile. Used by <c>bench</c>; <see cref="KernelWarmup"/> applies the same rule around a throwaway run.
/// </summary>
/// <remarks>
/// Why a fixed time is not enough: .NET's tiered compilation starts counting calls only after 100 ms without new
/// tier-0 compiles (TC_CallCountingDelayMs), promotes a method after 30 counted calls, and compiles tier 1 on a
/// background thread. Any other code being compiled in the process (a neighbour slot loading its dataset, SQLite,
/// the console) restarts that 100 ms, and on a loaded machine the background compile waits for a core. A fixed
/// 0.4 s therefore ended, in a fresh <c>./run-all.sh</c>, before the first runs' code was promoted (they stored
/// ≈ 0.55× the throughput of the same work later in the process). Settled here means: no method was compiled in the
/// whole process (<see cref="JitInfo.GetCompiledMethodCount"/>, tier-1 recompiles included) during the last
/// <see cref="QuietWindow"/> and the last <see cref="QuietSteps"/> steps, i.e. long enough for call counting to
/// start and reach 30 calls on a method called once per step. Capped, because a neighbour can keep compiling.
/// </remarks>
public static class JitWarmup
{
    /// <summary>Longer than the 100 ms call-counting delay plus a tier-1 compile of a kernel.</summary>
    public static readonly TimeSpan QuietWindow = TimeSpan.FromMilliseconds(250);

    /// <summary>More than the 30 calls that promote a method called once per step.</summary>
    public const int QuietSteps = 40;

    /// <summary>
    /// Calls <paramref name="step"/> until at least <paramref name="minimum"/> has passed and the JIT has been quiet
    /// (see the remarks), or <paramref name="maximum"/> has passed; returns the steps run and whether it settled.
    /// </summary>
    public static (int Steps, bool Settled, TimeSpan Elapsed) Run(Action step, TimeSpan minimum, TimeSpan maximum)
    {
        ArgumentNullException.ThrowIfNull(step);
        var clock = Stopwatch.StartNew();
        long compiled = JitInfo.GetCompiledMethodCount();
        var quietSince = TimeSpan.Zero;
        int steps = 0, quietSteps = 0;
        while (true)
        {
            step();
            steps++;
            quietSteps++;
            long now = JitInfo.GetCompiledMethodCount();
            var elapsed = clock.Elapsed;
            if (now != compiled)
            {
                compiled = now;
                quietSince = elapsed;
                quietSteps = 0;
            }

            if (elapsed >= minimum && elapsed - quietSince >= QuietWindow && quietSteps >= QuietSteps)
            {
                return (steps, true, elapsed);
            }

            if (elapsed >= maximum)
            {
                return (steps, false, elapsed);
            }
        }
    }
}
