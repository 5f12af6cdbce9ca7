namespace ForgetGate.Lab.Core.Metrics;

/// <summary>Mean with a two-sided 95% confidence interval from the t-distribution (n−1 degrees of freedom).</summary>
public readonly record struct MeanInterval(double Mean, double HalfWidth, int Count)
{
    /// <summary>Lower end (NaN when n &lt; 2).</summary>
    public double Low => Mean - HalfWidth;

    /// <summary>Upper end (NaN when n &lt; 2).</summary>
    public double High => Mean + HalfWidth;

    /// <summary>Mean ± 95% CI of the finite values among <paramref name="values"/>; the half-width is NaN for fewer than 2.</summary>
    public static MeanInterval Of(IEnumerable<double> values)
    {
        var v = values.Where(double.IsFinite).ToArray();
        if (v.Length == 0)
        {
            return new MeanInterval(double.NaN, double.NaN, 0);
        }

        double mean = v.Average();
        if (v.Length < 2)
        {
            return new MeanInterval(mean, double.NaN, v.Length);
        }

        double variance = v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1);
        return new MeanInterval(mean, StudentT.Quantile(0.975, v.Length - 1) * Math.Sqrt(variance / v.Length), v.Length);
    }
}

/// <summary>Quantiles of Student's t-distribution (bisection on the CDF via the regularized incomplete beta function).</summary>
public static class StudentT
{
    /// <summary>The p-quantile for <paramref name="degreesOfFreedom"/> (p in (0, 1)); ∞ gives the normal quantile.</summary>
    public static double Quantile(double p, double degreesOfFreedom)
    {
        if (p is <= 0 or >= 1 || !(degreesOfFreedom > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(p), $"Need 0 < p < 1 and df > 0; got p = {p}, df = {degreesOfFreedom}.");
        }

        if (p < 0.5)
        {
            return -Quantile(1 - p, degreesOfFreedom);
        }

        double lo = 0, hi = 1;
        while (Cdf(hi, degreesOfFreedom) < p)
        {
            hi *= 2;
        }

        for (int i = 0; i < 200 && hi - lo > 1e-13 * Math.Max(1, hi); i++)
        {
            double mid = 0.5 * (lo + hi);
            if (Cdf(mid, degreesOfFreedom) < p)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }

        return 0.5 * (lo + hi);
    }

    /// <summary>CDF of Student's t at <paramref name="t"/>.</summary>
    public static double Cdf(double t, double degreesOfFreedom)
    {
        if (double.IsPositiveInfinity(degreesOfFreedom))
        {
            return 0.5 * (1 + Erf(t / Math.Sqrt(2)));
        }

        double x = degreesOfFreedom / (degreesOfFreedom + (t * t));
        double tail = 0.5 * RegularizedIncompleteBeta(degreesOfFreedom / 2, 0.5, x);
        return t >= 0 ? 1 - tail : tail;
    }

    private static double Erf(double x)
    {
        // Power series near 0, continued fraction for the tail: both accurate to ~1e-15.
        double t = Math.Abs(x);
        double result = t < 3 ? ErfSeries(t) : 1 - ErfcContinuedFraction(t);
        return x < 0 ? -result : result;
    }

    private static double ErfSeries(double x)
    {
        double sum = x, term = x, x2 = x * x;
        for (int n = 1; n < 200; n++)
        {
            term *= -x2 / n;
            double add = term / ((2 * n) + 1);
            sum += add;
            if (Math.Abs(add) < 1e-17 * Math.Abs(sum))
            {
                break;
            }
        }

        return 2 / Math.Sqrt(Math.PI) * sum;
    }

    private static double ErfcContinuedFraction(double x)
    {
        // Lentz's method on erfc(x) = exp(-x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + …)))).
        double f = x, c = x, d = 0;
        for (int n = 1; n < 300; n++)
        {
            double a = n / 2.0;
            d = x + (a * d);
            d = Math.Abs(d) < 1e-300 ? 1e-300 : d;
            c = x + (a / c);
            c = Math.Abs(c) < 1e-300 ? 1e-300 : c;
            d = 1 / d;
            double delta = c * d;
            f *= delta;
            if (Math.Abs(delta - 1) < 1e-16)
            {
                break;
            }
        }

        return Math.Exp(-x * x) / Math.Sqrt(Math.PI) / f;
    }

    /// <summary>I_x(a, b) by the continued fraction (Numerical Recipes' betacf form, written from the formula).</summary>
    private static double RegularizedIncompleteBeta(double a, double b, double x)
    {
        if (x <= 0)
        {
            return 0;
        }

        if (x >= 1)
        {
            return 1;
        }

        if (x > (a + 1) / (a + b + 2))
        {
            return 1 - RegularizedIncompleteBeta(b, a, 1 - x);
        }

        double lnFront = LogGamma(a + b) - LogGamma(a) - LogGamma(b) + (a * Math.Log(x)) + (b * Math.Log(1 - x));
        double front = Math.Exp(lnFront) / a;
        double f = 1, c = 1, d = 0;
        for (int i = 0; i <= 400; i++)
        {
            int m = i / 2;
            double numerator = i == 0 ? 1
                : i % 2 == 0 ? m * (b - m) * x / ((a + (2 * m) - 1) * (a + (2 * m)))
                : -((a + m) * (a + b + m) * x) / ((a + (2 * m)) * (a + (2 * m) + 1));
            d = 1 + (numerator * d);
            d = 1 / (Math.Abs(d) < 1e-300 ? 1e-300 : d);
            c = 1 + (numerator / c);
            c = Math.Abs(c) < 1e-300 ? 1e-300 : c;
            double cd = c * d;
            f *= cd;
            if (Math.Abs(1 - cd) < 1e-15)
            {
                break;
            }
        }

        return front * (f - 1);
    }

    private static double LogGamma(double x)
    {
        // Lanczos approximation (g = 7, n = 9), accurate to ~1e-15 for x > 0.
        ReadOnlySpan<double> coefficients =
        [
            0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
            12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
        ];
        if (x < 0.5)
        {
            return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        }

        x -= 1;
        double sum = coefficients[0];
        for (int i = 1; i < 9; i++)
        {
            sum += coefficients[i] / (x + i);
        }

        double t = x + 7.5;
        return (0.5 * Math.Log(2 * Math.PI)) + ((x + 0.5) * Math.Log(t)) - t + Math.Log(sum);
    }
}
