using ForgetGate.Lab.Core.Metrics;
using ForgetGate.Lab.Core.Runs;

namespace ForgetGate.Lab.Core.Training;

/// <summary>The summary rows stored with a finished run: every forgetting metric with its convention, plus raw MSE for regression.</summary>
public static class RunSummaries
{
    /// <summary>
    /// Metrics of R (scores: accuracy, or −MSE for regression). A metric that R does not define is absent, not NaN:
    /// with one task (a legitimate baseline) BWT, FWT and forgetting need T ≥ 2, so the run stores ACC and learning
    /// accuracy only, and readers show the others as missing.
    /// </summary>
    public static IReadOnlyList<RunSummaryRow> From(RunPlan plan, double[,] scores)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var rows = ForgettingMetrics.Compute(scores).Where(m => double.IsFinite(m.Value)).Select(m => new RunSummaryRow(m.Name, m.Convention, m.Value)).ToList();
        if (plan.Tasks.IsRegression)
        {
            rows.Add(new RunSummaryRow("final_mse", "mean over tasks of the final MSE (= −ACC on −MSE scores)", -ForgettingMetrics.Acc(scores)));
        }

        return rows;
    }
}
