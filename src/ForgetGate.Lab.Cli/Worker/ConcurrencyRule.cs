using System.Globalization;
using System.Text.Json;

namespace ForgetGate.Lab.Cli.Worker;

/// <summary>What <c>--concurrency auto</c> chose: runs at once × threads per run, and why, for the start-up line.</summary>
internal sealed record ConcurrencyChoice(int Runs, int ThreadsPerRun, string Reason);

/// <summary>
/// <c>--concurrency auto</c>: how a worker splits the machine's cores between runs at once and threads per run.
/// </summary>
/// <remarks>
/// The rule, from measurements (README, "Sweeps on every core"):
/// <list type="number">
/// <item>Part of a run does not scale with threads: building batches, the loss, the optimizer step, metric and
/// checkpoint writes run on one thread, and every phase hand-off costs the other threads a wait. So for sweep
/// throughput, runs side by side beat threads inside a run. On this 2-core Zen 5 VM, quick.yaml (12 runs, H = 64,
/// B = 64) took 2 runs × 1 thread less time than 1 run × 2 threads in alternating rounds.</item>
/// <item>A run of a small model (hidden ≤ 128 or batch &lt; 512: under 2 MFLOP of recurrent product per step per
/// worker at 16+ rows each) gets 2 threads where there are more than 2 cores, the issue's measurement on a 16-core
/// Xeon (several runs of 2 threads each beat one run of many); a large one (hidden ≥ 256 and batch ≥ 512, where one
/// run on 8 threads beat 4 there) gets 4.</item>
/// <item>Threads per run never exceed what the run's recurrent loop can keep busy (one per 16 batch rows), and runs
/// at once never exceed the points still to run; leftover cores go to the runs there are.</item>
/// </list>
/// Results do not depend on the choice: a run is bit-identical for any thread count.
/// </remarks>
internal static class ConcurrencyRule
{
    /// <summary>The model assumed when the sizes are not known yet (a worker started before it claims anything).</summary>
    public const int DefaultHidden = 128;

    /// <summary>Batch assumed when unknown (the spec default).</summary>
    public const int DefaultBatch = 128;

    /// <summary>Chooses runs × threads for <paramref name="cores"/> cores and the largest model of the work.</summary>
    public static ConcurrencyChoice Choose(int cores, int? hidden = null, int? batch = null, int? points = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(cores, 1);
        int h = hidden ?? DefaultHidden;
        int b = batch ?? DefaultBatch;
        bool large = h >= 256 && b >= 512;
        int payable = Math.Max(1, b / 16);
        int threads = cores <= 2 ? 1 : large ? 4 : 2;
        threads = Math.Clamp(threads, 1, Math.Min(cores, payable));
        int runs = Math.Max(1, cores / threads);
        var inv = CultureInfo.InvariantCulture;
        string size = string.Create(inv, $"{(hidden is null ? "assumed " : "")}H={h} B={b}, {(large ? "large" : "small")} model");
        if (points is { } n && n >= 1 && n < runs)
        {
            runs = n;
            threads = Math.Clamp(cores / runs, 1, payable);
            return new ConcurrencyChoice(runs, threads, string.Create(inv, $"{cores} cores, {size}, only {n} run(s) to do: the cores go to those"));
        }

        string why = cores <= 2
            ? "runs side by side beat threads inside a run on 2 cores"
            : $"{threads} threads per {(large ? "large" : "small")} run, a run per {threads} cores";
        return new ConcurrencyChoice(runs, threads, string.Create(inv, $"{cores} cores, {size}: {why}"));
    }

    /// <summary>The largest hidden size and batch among run configs (canonical JSON), or nulls when none can be read.</summary>
    public static (int? Hidden, int? Batch) LargestModel(IEnumerable<string> configJsons)
    {
        ArgumentNullException.ThrowIfNull(configJsons);
        int? hidden = null, batch = null;
        foreach (string json in configJsons)
        {
            try
            {
                using var doc = JsonDocument.Parse(json);
                var root = doc.RootElement;
                if (root.TryGetProperty("model", out var model) && model.TryGetProperty("hidden", out var h) && h.TryGetInt32(out int hv))
                {
                    hidden = Math.Max(hidden ?? 0, hv);
                }

                if (root.TryGetProperty("training", out var training) && training.TryGetProperty("batch_size", out var bs) && bs.TryGetInt32(out int bv))
                {
                    batch = Math.Max(batch ?? 0, bv);
                }
            }
            catch (JsonException)
            {
                // A run list entry that is not a training config (e.g. a test-only executor's): no size to learn from.
            }
        }

        return (hidden, batch);
    }

    /// <summary>Parses a <c>--concurrency</c> value: <c>auto</c> (null) or a run count 1..256.</summary>
    public static int? Parse(string value, string option)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Equals("auto", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n is >= 1 and <= 256)
        {
            return n;
        }

        throw new Errors.CliException(Errors.ExitCodes.BadInput, $"{option} '{value}': expected auto or a number of runs 1..256.");
    }
}
