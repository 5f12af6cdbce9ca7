namespace ForgetGate.Lab.Core.Training.Strategies;

/// <summary>
/// The gradient surgery of A-GEM and GEM on flattened gradients, in float64 sums (the vectors hold every
/// parameter of the model, tens of thousands of values, so float32 dot products would lose digits).
/// </summary>
internal static class GradientProjection
{
    /// <summary>Σ a_i·b_i in float64.</summary>
    public static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length)
        {
            throw new ArgumentException($"Vectors differ in length: {a.Length} and {b.Length}.", nameof(b));
        }

        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            sum += (double)a[i] * b[i];
        }

        return sum;
    }

    /// <summary>
    /// A-GEM (Chaudhry et al. 2019, eq. 11): when g·g_ref &lt; 0, g ← g − (g·g_ref / g_ref·g_ref)·g_ref, which removes
    /// the component of g that would raise the memory loss; otherwise g is left alone. Returns whether g changed.
    /// </summary>
    public static bool ProjectAgem(Span<float> g, ReadOnlySpan<float> reference)
    {
        double dot = Dot(g, reference);
        if (dot >= 0)
        {
            return false;
        }

        double norm = Dot(reference, reference);
        if (norm <= 0)
        {
            return false;
        }

        double scale = dot / norm;
        for (int i = 0; i < g.Length; i++)
        {
            g[i] = (float)(g[i] - (scale * reference[i]));
        }

        return true;
    }

    /// <summary>
    /// GEM (Lopez-Paz &amp; Ranzato 2017, eq. 10–11): with G the past tasks' gradients (one row each), solves the dual
    /// min_v ½vᵀ(GGᵀ + εI)v + (Gg)ᵀv subject to v ≥ margin and returns g̃ = Gᵀv + g in <paramref name="g"/>, with v.
    /// ε = 1e-3 and the margin (memory_strength) follow the authors' code, which adds εI to keep GGᵀ definite.
    /// </summary>
    public static double[] ProjectGem(Span<float> g, IReadOnlyList<float[]> memoryGradients, double margin, double epsilon = 1e-3)
    {
        int k = memoryGradients.Count;
        var p = new double[k, k];
        var q = new double[k];
        for (int i = 0; i < k; i++)
        {
            q[i] = Dot(memoryGradients[i], g);
            for (int j = 0; j <= i; j++)
            {
                double d = Dot(memoryGradients[i], memoryGradients[j]);
                p[i, j] = d;
                p[j, i] = d;
            }

            p[i, i] += epsilon;
        }

        var v = BoxQp.Solve(p, q, margin);
        var extra = new double[g.Length];
        for (int i = 0; i < k; i++)
        {
            var row = memoryGradients[i];
            for (int n = 0; n < g.Length; n++)
            {
                extra[n] += v[i] * row[n];
            }
        }

        for (int n = 0; n < g.Length; n++)
        {
            g[n] = (float)(g[n] + extra[n]);
        }

        return v;
    }
}

/// <summary>
/// min_v ½vᵀPv + qᵀv subject to v ≥ lower (every component), P symmetric positive definite: a primal active-set
/// method (Lawson–Hanson's NNLS loop for a general quadratic, on u = v − lower ≥ 0). Each outer step frees the bound
/// variable whose gradient points most into the feasible side; the inner loop solves the free variables' equality
/// problem by Cholesky and steps back onto a bound when a free variable would leave the set. Finite: at most 2^k
/// active sets, in practice about k steps. GEM's problems have one variable per past task.
/// </summary>
internal static class BoxQp
{
    private const double Tolerance = 1e-12;

    public static double[] Solve(double[,] p, double[] q, double lower)
    {
        int k = q.Length;
        if (p.GetLength(0) != k || p.GetLength(1) != k)
        {
            throw new ArgumentException($"P is {p.GetLength(0)}×{p.GetLength(1)}; expected {k}×{k} to match q.", nameof(p));
        }

        // Shift to u = v − lower: min ½uᵀPu + cᵀu, u ≥ 0, with c = q + P·lower·1.
        var c = new double[k];
        for (int i = 0; i < k; i++)
        {
            double s = q[i];
            for (int j = 0; j < k; j++)
            {
                s += p[i, j] * lower;
            }

            c[i] = s;
        }

        var u = new double[k];
        var free = new bool[k];
        double scale = 1;
        for (int i = 0; i < k; i++)
        {
            scale = Math.Max(scale, Math.Abs(c[i]));
        }

        for (int outer = 0; outer < 4 * k + 8; outer++)
        {
            // Most negative gradient component among the bound variables (gradient = Pu + c).
            int enter = -1;
            double best = -Tolerance * scale;
            for (int i = 0; i < k; i++)
            {
                if (free[i])
                {
                    continue;
                }

                double grad = c[i];
                for (int j = 0; j < k; j++)
                {
                    grad += p[i, j] * u[j];
                }

                if (grad < best)
                {
                    best = grad;
                    enter = i;
                }
            }

            if (enter < 0)
            {
                break; // KKT: every bound variable has a non-negative gradient
            }

            free[enter] = true;
            for (int inner = 0; inner <= k; inner++)
            {
                var z = SolveFree(p, c, free);
                double alpha = 1;
                int leave = -1;
                for (int i = 0; i < k; i++)
                {
                    if (free[i] && z[i] <= 0)
                    {
                        double gap = u[i] - z[i];
                        double a = gap > 0 ? u[i] / gap : 0;
                        if (a < alpha)
                        {
                            alpha = a;
                            leave = i;
                        }
                    }
                }

                if (leave < 0)
                {
                    Array.Copy(z, u, k);
                    break;
                }

                for (int i = 0; i < k; i++)
                {
                    u[i] += alpha * (z[i] - u[i]);
                }

                u[leave] = 0;
                free[leave] = false;
                for (int i = 0; i < k; i++)
                {
                    if (free[i] && u[i] <= 0)
                    {
                        u[i] = 0;
                        free[i] = false;
                    }
                }
            }
        }

        for (int i = 0; i < k; i++)
        {
            u[i] += lower;
        }

        return u;
    }

    /// <summary>Solves P_FF z_F = −c_F by Cholesky; bound components of z are 0.</summary>
    private static double[] SolveFree(double[,] p, double[] c, bool[] free)
    {
        int k = c.Length;
        var index = Enumerable.Range(0, k).Where(i => free[i]).ToArray();
        int m = index.Length;
        var l = new double[m, m];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j <= i; j++)
            {
                double s = p[index[i], index[j]];
                for (int r = 0; r < j; r++)
                {
                    s -= l[i, r] * l[j, r];
                }

                if (i == j)
                {
                    if (s <= 0)
                    {
                        throw new InvalidOperationException("GEM's QP matrix GGᵀ + εI is not positive definite (non-finite gradients?).");
                    }

                    l[i, i] = Math.Sqrt(s);
                }
                else
                {
                    l[i, j] = s / l[j, j];
                }
            }
        }

        var y = new double[m];
        for (int i = 0; i < m; i++)
        {
            double s = -c[index[i]];
            for (int r = 0; r < i; r++)
            {
                s -= l[i, r] * y[r];
            }

            y[i] = s / l[i, i];
        }

        var z = new double[k];
        for (int i = m - 1; i >= 0; i--)
        {
            double s = y[i];
            for (int r = i + 1; r < m; r++)
            {
                s -= l[r, i] * z[index[r]];
            }

            z[index[i]] = s / l[i, i];
        }

        return z;
    }
}
