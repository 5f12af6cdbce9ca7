using System.Diagnostics;
using System.Globalization;
using ForgetGate.Lab.Core.Metrics;
using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Core.Specs;
using ForgetGate.Lab.Core.Training;
using ForgetGate.Lab.Numerics.Threading;

namespace ForgetGate.Lab.Benchmarks.Strategies;

/// <summary>
/// <c>-- strategies SPEC [--set path=value]… [--threads N]</c>: runs every point of a spec in this process (no store)
/// and prints, per strategy and variant, Chaudhry forgetting and ACC (per seed and mean), whether forgetting is lower
/// than naive's, wall time, the run time relative to naive (same variant and seed, measured in this same process), and
/// what the strategy keeps. The issue-15 effect and cost figures come from the shipped smoke spec
/// (tests/ForgetGate.Lab.Cli.Tests/Specs/baselines-smoke.yaml). Ratios are meaningful on a shared machine, absolute times are not.
/// </summary>
internal static class StrategyComparison
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    public static void Run(string[] args)
    {
        if (args.Length < 2)
        {
            Console.Error.WriteLine("usage: strategies SPEC [--set path=value]... [--threads N] [--rounds N]");
            Environment.Exit(2);
        }

        var sets = new List<string>();
        int threads = 1;
        int rounds = 1;
        for (int i = 2; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--set" when i + 1 < args.Length:
                    sets.Add(args[++i]);
                    break;
                case "--threads" when i + 1 < args.Length:
                    threads = int.Parse(args[++i], s_inv);
                    break;
                case "--rounds" when i + 1 < args.Length:
                    rounds = int.Parse(args[++i], s_inv);
                    break;
                default:
                    Console.Error.WriteLine($"strategies: unknown option '{args[i]}'");
                    Environment.Exit(2);
                    break;
            }
        }

        var spec = SpecReader.ReadFile(args[1], sets);
        Console.WriteLine(string.Create(s_inv, $"{spec.Name}: {spec.Points.Count} runs, {threads} thread(s) each, {Environment.ProcessorCount} cores (shared machine: compare ratios, not seconds)"));
        var results = new List<Result>();
        using var pool = new ComputePool(threads);

        // Warm-up: the first run of a process also pays for JIT compilation, which would inflate naive's time (it runs first).
        var warm = SpecRunPlanFactory.Create(spec.Points[0].Config);
        using (var runner = new ContinualRunner(warm.Options with { Threads = threads }, warm.Tasks, DiscardingRunSink.Instance, pool))
        {
            runner.RunAsync(null, null, CancellationToken.None).GetAwaiter().GetResult();
        }

        // Each round runs every point once; a run's time is its median over rounds, and the points' order rotates between
        // rounds so a slow spell of the shared machine does not always fall on the same strategies. The metrics are
        // deterministic, so every round must give the same forgetting (checked).
        var times = new Dictionary<int, List<double>>();
        for (int round = 0; round < rounds; round++)
        {
            for (int k = 0; k < spec.Points.Count; k++)
            {
                int index = (k + (round * spec.Points.Count / Math.Max(rounds, 1))) % spec.Points.Count;
                var config = spec.Points[index].Config;
                var plan = SpecRunPlanFactory.Create(config);
                var options = plan.Options with { Threads = threads };
                var clock = Stopwatch.StartNew();
                using var runner = new ContinualRunner(options, plan.Tasks, DiscardingRunSink.Instance, pool);
                var outcome = runner.RunAsync(null, null, CancellationToken.None).GetAwaiter().GetResult();
                clock.Stop();
                var r = new Result(config.Strategy.Kind, config.Model.Variant.ToString(), config.Seed, ForgettingMetrics.Forgetting(outcome.Scores),
                    ForgettingMetrics.Acc(outcome.Scores), clock.Elapsed.TotalSeconds, outcome.Strategy);
                if (round == 0)
                {
                    results.Add(r);
                    times[results.Count - 1] = [];
                }

                int slot = round == 0 ? results.Count - 1 : results.FindIndex(x => x.Strategy == r.Strategy && x.Variant == r.Variant && x.Seed == r.Seed);
                if (results[slot].Forgetting != r.Forgetting)
                {
                    throw new InvalidOperationException($"{r.Strategy} {r.Variant} seed {r.Seed}: forgetting {r.Forgetting} in round {round + 1}, {results[slot].Forgetting} before");
                }

                times[slot].Add(r.Seconds);
                Console.WriteLine(string.Create(s_inv, $"  round {round + 1}  {r.Strategy,-10} {r.Variant,-8} seed {r.Seed}: forgetting {r.Forgetting:F4}  ACC {r.Acc:F4}  {r.Seconds:F1} s"));
            }
        }

        for (int i = 0; i < results.Count; i++)
        {
            var t = times[i].Order().ToList();
            results[i] = results[i] with { Seconds = t[t.Count / 2] };
        }

        Console.WriteLine();
        Console.WriteLine("strategy   variant   forgetting (Chaudhry; per seed → mean)      < naive  ACC (mean)  time (s)  × naive  memory samples / bytes   state bytes  projected");
        foreach (var group in results.GroupBy(r => (r.Strategy, r.Variant)))
        {
            var naive = results.Where(n => n.Strategy == "naive" && n.Variant == group.Key.Variant).ToDictionary(n => n.Seed);
            double forgetting = group.Average(r => r.Forgetting);
            string perSeed = string.Join(" ", group.Select(r => r.Forgetting.ToString("F4", s_inv)));
            string lower = naive.Count == 0 || group.Key.Strategy == "naive" ? "–" : forgetting < naive.Values.Average(n => n.Forgetting) ? "yes" : "NO";
            double ratio = group.Where(r => naive.ContainsKey(r.Seed)).Select(r => r.Seconds / naive[r.Seed].Seconds).DefaultIfEmpty(double.NaN).Average();
            var f = group.Last().Figures;
            Console.WriteLine(string.Create(s_inv,
                $"{group.Key.Strategy,-10} {group.Key.Variant,-8}  {perSeed,-22} → {forgetting,8:F4}      {lower,-5}  {group.Average(r => r.Acc),8:F4}  {group.Average(r => r.Seconds),8:F1}  {ratio,6:F2}  {f.Samples,8} / {f.MemoryBytes,-10}  {f.StateBytes,11}  {(double.IsFinite(f.ProjectedFraction) ? (100 * f.ProjectedFraction).ToString("F1", s_inv) + "%" : "–"),8}"));
        }
    }

    private sealed record Result(string Strategy, string Variant, long Seed, double Forgetting, double Acc, double Seconds, Core.Training.Strategies.StrategyFigures Figures);
}
