using ForgetGate.Lab.Reporting;

namespace ForgetGate.Lab.Reporting.Tests;

/// <summary>A small hand-made sweep: 2 variants × 2 seeds × 3 tasks, with every kind of row a report shows.</summary>
internal static class SampleReport
{
    public static SweepReport Create(string firstGroup = "lstm")
    {
        var runs = new List<RunReport>();
        long id = 1;
        foreach (var (group, drop) in new[] { (firstGroup, 0.30), ("gru", 0.20) })
        {
            foreach (long seed in new long[] { 1, 2 })
            {
                double jitter = seed * 0.01;
                var evals = new List<EvaluationPoint>();
                for (int j = 0; j < 3; j++)
                {
                    evals.Add(new(0, 0, j, "accuracy", 0.1 + (0.01 * j)));
                }

                for (int i = 1; i <= 3; i++)
                {
                    for (int e = 1; e <= 2; e++)
                    {
                        for (int j = 0; j < 3; j++)
                        {
                            double v = j + 1 == i ? 0.8 + jitter + (0.02 * e) : j + 1 < i ? 0.8 - (drop * (i - j - 1)) + jitter : 0.1 + (0.01 * j);
                            evals.Add(new(i, e, j, "accuracy", Math.Round(v, 4)));
                        }
                    }
                }

                double forgetting = (drop * 1.5) - jitter;
                var summary = new List<SummaryMetric>
                {
                    new("acc", "ACC", 0.6 - drop + jitter), new("bwt", "BWT", -forgetting), new("fwt", "FWT", 0.0 + jitter),
                    new("forgetting", "Chaudhry", forgetting), new("learning_accuracy", "LA", 0.84 + jitter),
                };
                var gates = Enumerable.Range(1, 3).Select(t => new GateHistogram(t, 0, t - 1, 0.5 + (0.05 * t), 0.1, 0.05,
                    [.. Enumerable.Range(0, 20).Select(b => b == 10 + t ? 0.5 : 0.5 / 19)])).ToList();
                runs.Add(new RunReport(
                    id++, group, seed, new Dictionary<string, string> { ["model.variant"] = group }, "succeeded",
                    $$"""{"model":{"variant":"{{group}}"},"seed":{{seed}}}""", new string((char)('a' + (int)id), 64), "0.1.0+abc1234",
                    "f".PadLeft(64, 'e'), new Dictionary<string, string> { ["cpu"] = "Test CPU", ["threads"] = "2" },
                    12.5 + seed, 3000 + (100 * seed), evals, summary, gates,
                    [new LossPoint(1, 1, 0, 2.3), new LossPoint(1, 1, 1, 1.9)]));
            }
        }

        return new SweepReport("sample-sweep", new string('c', 64), new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero), false,
            ["T1", "T2", "T3"], "variant", runs);
    }
}
