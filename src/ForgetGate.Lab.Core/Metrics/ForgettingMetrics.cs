namespace ForgetGate.Lab.Core.Metrics;

/// <summary>A metric value with the name of the convention that defines it.</summary>
public sealed record MetricValue(string Name, string Convention, double Value);

/// <summary>
/// Continual-learning metrics from the score matrix R [(T+1) × T] (DESIGN.md §6): R[i, j] is the score on task j
/// (0-based) after training task i (1-based); row 0 is the untrained model, b_j = R[0, j]. Score is accuracy or −MSE,
/// so higher is better. Metrics undefined for T = 1 (BWT, FWT, forgetting) are NaN.
/// </summary>
public static class ForgettingMetrics
{
    /// <summary>ACC = (1/T) Σ_j R[T][j].</summary>
    public const string AccConvention = "ACC: mean final score over tasks (Lopez-Paz & Ranzato 2017)";

    /// <summary>BWT = 1/(T−1) Σ_{j&lt;T} (R[T][j] − R[j][j]).</summary>
    public const string BwtConvention = "BWT: mean over j<T of R[T][j] − R[j][j], divided by T−1 (GEM paper; GEM's code divides by T)";

    /// <summary>FWT = 1/(T−1) Σ_{j≥2} (R[j−1][j] − b_j).</summary>
    public const string FwtConvention = "FWT: mean over j≥2 of R[j−1][j] − b_j with b_j = R[0][j] (GEM paper)";

    /// <summary>Forgetting = 1/(T−1) Σ_{j&lt;T} (max_{l∈1..T−1} R[l][j] − R[T][j]).</summary>
    public const string ForgettingConvention = "Forgetting: mean over j<T of max_{l in 1..T−1} R[l][j] − R[T][j] (Chaudhry et al. 2018; final row excluded from the max, so it can be negative)";

    /// <summary>LA = (1/T) Σ_j R[j][j].</summary>
    public const string LearningAccuracyConvention = "Learning accuracy: mean of R[j][j] (score right after learning each task)";

    /// <summary>Avalanche-style: mean over j&lt;T of R[j][j] − R[T][j].</summary>
    public const string FirstMinusLastConvention = "First-minus-last forgetting: mean over j<T of R[j][j] − R[T][j] (Avalanche's 'forgetting'; equals −BWT)";

    /// <summary>Intransigence I = (1/T) Σ_k (R*[k][k] − R[k][k]).</summary>
    public const string IntransigenceConvention = "Intransigence: mean over k of R*[k][k] − R[k][k], R* from the cumulative run of the same point (Chaudhry et al. 2018)";

    /// <summary>What R is, as reports state it before the conventions.</summary>
    public const string ScoreMatrixDefinition = "R[i][j]: score on task j after training task i; row 0 is the untrained model (b_j = R[0][j]). Score is accuracy, or −MSE for regression.";

    /// <summary>How other libraries' metrics of the same name differ (reports say so beside the conventions).</summary>
    public const string OtherLibrariesNote = "Avalanche's “forgetting” is first-minus-last (= −BWT); Mammoth includes the final row in the max.";

    /// <summary>The conventions in one line, for a table's legend where the full list does not fit (console, Markdown).</summary>
    public const string ShortConventions = "forgetting: Chaudhry et al. 2018, final row excluded from the max; BWT and FWT divide by T−1";

    /// <summary>Every convention a run's metrics carry, in <see cref="Compute"/>'s order: the one list reports show.</summary>
    public static IReadOnlyList<string> Conventions { get; } =
    [
        AccConvention, BwtConvention, FwtConvention, ForgettingConvention, LearningAccuracyConvention, FirstMinusLastConvention, IntransigenceConvention,
    ];

    /// <summary>All metrics of one run; <paramref name="joint"/> (R* of a cumulative run) adds intransigence.</summary>
    public static IReadOnlyList<MetricValue> Compute(double[,] r, double[,]? joint = null)
    {
        ArgumentNullException.ThrowIfNull(r);
        var list = new List<MetricValue>
        {
            new("acc", AccConvention, Acc(r)),
            new("bwt", BwtConvention, Bwt(r)),
            new("fwt", FwtConvention, Fwt(r)),
            new("forgetting", ForgettingConvention, Forgetting(r)),
            new("learning_accuracy", LearningAccuracyConvention, LearningAccuracy(r)),
            new("forgetting_first_minus_last", FirstMinusLastConvention, FirstMinusLast(r)),
        };
        if (joint is not null)
        {
            list.Add(new("intransigence", IntransigenceConvention, Intransigence(r, joint)));
        }

        return list;
    }

    /// <summary>Tasks T of a matrix with T+1 rows and T columns; throws on any other shape.</summary>
    public static int Tasks(double[,] r)
    {
        ArgumentNullException.ThrowIfNull(r);
        int t = r.GetLength(1);
        if (t < 1 || r.GetLength(0) != t + 1)
        {
            throw new ArgumentException($"R must have T+1 rows and T ≥ 1 columns; got {r.GetLength(0)} × {t}.", nameof(r));
        }

        return t;
    }

    /// <summary>ACC = (1/T) Σ_j R[T][j].</summary>
    public static double Acc(double[,] r)
    {
        int t = Tasks(r);
        double sum = 0;
        for (int j = 0; j < t; j++)
        {
            sum += r[t, j];
        }

        return sum / t;
    }

    /// <summary>BWT = 1/(T−1) Σ_{j&lt;T} (R[T][j] − R[j][j]); NaN for T = 1.</summary>
    public static double Bwt(double[,] r)
    {
        int t = Tasks(r);
        if (t < 2)
        {
            return double.NaN;
        }

        double sum = 0;
        for (int j = 0; j < t - 1; j++)
        {
            sum += r[t, j] - r[j + 1, j];
        }

        return sum / (t - 1);
    }

    /// <summary>FWT = 1/(T−1) Σ_{j=2..T} (R[j−1][j] − R[0][j]) (1-based j); NaN for T = 1.</summary>
    public static double Fwt(double[,] r)
    {
        int t = Tasks(r);
        if (t < 2)
        {
            return double.NaN;
        }

        double sum = 0;
        for (int j = 1; j < t; j++)
        {
            // Column j (0-based) is task j+1; the row after training task j (1-based) is row j.
            sum += r[j, j] - r[0, j];
        }

        return sum / (t - 1);
    }

    /// <summary>Chaudhry forgetting, max over rows 1..T−1 only; NaN for T = 1.</summary>
    public static double Forgetting(double[,] r)
    {
        int t = Tasks(r);
        if (t < 2)
        {
            return double.NaN;
        }

        double sum = 0;
        for (int j = 0; j < t - 1; j++)
        {
            double best = double.NegativeInfinity;
            for (int l = 1; l <= t - 1; l++)
            {
                best = Math.Max(best, r[l, j]);
            }

            sum += best - r[t, j];
        }

        return sum / (t - 1);
    }

    /// <summary>LA = (1/T) Σ_j R[j][j].</summary>
    public static double LearningAccuracy(double[,] r)
    {
        int t = Tasks(r);
        double sum = 0;
        for (int j = 0; j < t; j++)
        {
            sum += r[j + 1, j];
        }

        return sum / t;
    }

    /// <summary>Avalanche-style first-minus-last forgetting over j&lt;T; NaN for T = 1.</summary>
    public static double FirstMinusLast(double[,] r)
    {
        int t = Tasks(r);
        if (t < 2)
        {
            return double.NaN;
        }

        double sum = 0;
        for (int j = 0; j < t - 1; j++)
        {
            sum += r[j + 1, j] - r[t, j];
        }

        return sum / (t - 1);
    }

    /// <summary>Intransigence: mean over tasks of R*[k][k] − R[k][k].</summary>
    public static double Intransigence(double[,] r, double[,] joint)
    {
        int t = Tasks(r);
        if (Tasks(joint) != t)
        {
            throw new ArgumentException($"R* has {Tasks(joint)} tasks; R has {t}.", nameof(joint));
        }

        double sum = 0;
        for (int k = 0; k < t; k++)
        {
            sum += joint[k + 1, k] - r[k + 1, k];
        }

        return sum / t;
    }
}
