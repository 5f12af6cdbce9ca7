using ForgetGate.Lab.Core.Training.Strategies;
using ForgetGate.Lab.Numerics.Random;

namespace ForgetGate.Lab.Core.Tests.Training.Strategies;

public sealed class GradientProjectionTests
{
    [Fact]
    public void ProjectAgem_Conflicting2D_RemovesTheComponentAlongTheReference()
    {
        // g·g_ref = −1 + 0.5 = −0.5 < 0: g − (−0.5 / 1.25)·g_ref = (1, 1) + 0.4·(−1, 0.5) = (0.6, 1.2).
        float[] g = [1f, 1f];
        float[] reference = [-1f, 0.5f];
        Assert.True(GradientProjection.ProjectAgem(g, reference));
        Assert.Equal(0.6f, g[0], 6);
        Assert.Equal(1.2f, g[1], 6);
        Assert.Equal(0, GradientProjection.Dot(g, reference), 6); // projected onto the plane g·g_ref = 0
    }

    [Fact]
    public void ProjectAgem_NonConflicting2D_LeavesGradientAlone()
    {
        float[] g = [1f, 1f];
        float[] reference = [1f, -0.5f]; // g·g_ref = 0.5 ≥ 0
        Assert.False(GradientProjection.ProjectAgem(g, reference));
        Assert.Equal([1f, 1f], g);
    }

    [Fact]
    public void ProjectGem_OnePastTaskByHand_MatchesClosedForm()
    {
        // g = (1, 0), g_1 = (−1, 1): P = 2 + ε, q = g_1·g = −1, unconstrained v = 1/(2 + ε) ≈ 0.49975 < margin 0.5,
        // so v = 0.5 and g̃ = g + 0.5·g_1 = (0.5, 0.5).
        float[] g = [1f, 0f];
        var v = GradientProjection.ProjectGem(g, [[-1f, 1f]], margin: 0.5);
        Assert.Equal(0.5, v[0], 12);
        Assert.Equal([0.5f, 0.5f], g);

        // Without the margin: v = 1/(2 + ε) and g̃·g_1 = −1 + 2v = −ε·v, the small violation GEM's εI leaves.
        g = [1f, 0f];
        v = GradientProjection.ProjectGem(g, [[-1f, 1f]], margin: 0);
        Assert.Equal(1 / 2.001, v[0], 12);
        Assert.Equal(-1e-3 / 2.001, GradientProjection.Dot(g, [-1f, 1f]), 6);
    }

    [Theory]
    [InlineData(1, 0.0)]
    [InlineData(2, 0.5)]
    [InlineData(3, 0.0)]
    [InlineData(4, 0.5)]
    [InlineData(6, 0.25)]
    [InlineData(8, 0.0)]
    public void BoxQp_RandomProblems_MatchesBruteForceOverEveryActiveSet(int k, double margin)
    {
        var rng = new Rng(1000 + (ulong)k);
        for (int trial = 0; trial < 40; trial++)
        {
            // P = G Gᵀ + εI from random gradients (rows of G correlate, as memory gradients do), q = G g.
            int dims = k + 3;
            var rows = new double[k][];
            for (int i = 0; i < k; i++)
            {
                rows[i] = new double[dims];
                for (int d = 0; d < dims; d++)
                {
                    rows[i][d] = rng.NextGaussian() + (i > 0 ? 0.5 * rows[0][d] : 0);
                }
            }

            var g = new double[dims];
            for (int d = 0; d < dims; d++)
            {
                g[d] = 2 * rng.NextGaussian();
            }

            var p = new double[k, k];
            var q = new double[k];
            for (int i = 0; i < k; i++)
            {
                q[i] = rows[i].Zip(g, (a, b) => a * b).Sum();
                for (int j = 0; j < k; j++)
                {
                    p[i, j] = rows[i].Zip(rows[j], (a, b) => a * b).Sum() + (i == j ? 1e-3 : 0);
                }
            }

            var v = BoxQp.Solve(p, q, margin);
            var expected = BruteForce(p, q, margin);
            for (int i = 0; i < k; i++)
            {
                Assert.True(Math.Abs(v[i] - expected[i]) <= 1e-8 * (1 + Math.Abs(expected[i])), $"trial {trial}: v[{i}] = {v[i]}, brute force {expected[i]}");
            }
        }
    }

    /// <summary>Every subset S of variables off their bound: solve P_SS v_S = −(q_S + P_S,B·margin), keep feasible ones, return the lowest objective.</summary>
    private static double[] BruteForce(double[,] p, double[] q, double margin)
    {
        int k = q.Length;
        double best = double.PositiveInfinity;
        double[] bestV = [];
        for (int mask = 0; mask < (1 << k); mask++)
        {
            var free = Enumerable.Range(0, k).Where(i => (mask & (1 << i)) != 0).ToArray();
            var v = Enumerable.Repeat(margin, k).ToArray();
            int m = free.Length;
            var a = new double[m, m + 1];
            for (int r = 0; r < m; r++)
            {
                double rhs = -q[free[r]];
                for (int j = 0; j < k; j++)
                {
                    if ((mask & (1 << j)) == 0)
                    {
                        rhs -= p[free[r], j] * margin;
                    }
                }

                for (int c = 0; c < m; c++)
                {
                    a[r, c] = p[free[r], free[c]];
                }

                a[r, m] = rhs;
            }

            // Gaussian elimination with partial pivoting (independent of the solver's Cholesky).
            for (int c = 0; c < m; c++)
            {
                int pivot = Enumerable.Range(c, m - c).MaxBy(r => Math.Abs(a[r, c]));
                for (int j = 0; j <= m; j++)
                {
                    (a[c, j], a[pivot, j]) = (a[pivot, j], a[c, j]);
                }

                for (int r = 0; r < m; r++)
                {
                    if (r == c)
                    {
                        continue;
                    }

                    double f = a[r, c] / a[c, c];
                    for (int j = c; j <= m; j++)
                    {
                        a[r, j] -= f * a[c, j];
                    }
                }
            }

            for (int r = 0; r < m; r++)
            {
                v[free[r]] = a[r, m] / a[r, r];
            }

            if (v.Any(x => x < margin - 1e-12))
            {
                continue;
            }

            double objective = 0;
            for (int i = 0; i < k; i++)
            {
                objective += q[i] * v[i];
                for (int j = 0; j < k; j++)
                {
                    objective += 0.5 * v[i] * p[i, j] * v[j];
                }
            }

            if (objective < best)
            {
                best = objective;
                bestV = v;
            }
        }

        return bestV;
    }
}
