using System.Globalization;
using ForgetGate.Lab.Numerics.Cells;

namespace ForgetGate.Lab.Numerics.Tests.Cells;

/// <summary>
/// The symbolic backward (<see cref="CellReference.Backward"/>) against central finite differences in float64,
/// through several chained steps so state and h gradients are checked too.
/// </summary>
public sealed class CellGradientTests
{
    private static readonly int s_seed = int.TryParse(Environment.GetEnvironmentVariable("FORGETGATE_TEST_SEED"), CultureInfo.InvariantCulture, out int s) ? s : 1234;

    public static TheoryData<string> CellNames => ["slstm", "janet", "peephole", "minlstm", "lstm-generic"];

    /// <summary>The five shipped cells as written in experiments/cells (Core tests check the files give these same graphs).</summary>
    internal static CellDefinition Shipped(string name) => name switch
    {
        "lstm-generic" => CellDefinition.Create(name, ["i", "f", "g", "o"],
            "f_ = sigmoid(f)\nc' = f_ * c + sigmoid(i) * tanh(g)\nh' = sigmoid(o) * tanh(c')", "f_", ["c"]),
        "slstm" => CellDefinition.Create(name, ["i", "f", "z", "o"], """
            m' = max(logsigmoid(f) + m, i)
            i_ = exp(i - m')
            f_ = exp(logsigmoid(f) + m - m')
            c' = f_ * c + i_ * tanh(z)
            n' = f_ * n + i_
            h' = sigmoid(o) * c' / n'
            """, "f_", ["c", "n", "m"], init: [new("f", "linspace(3, 6)")]),
        "janet" => CellDefinition.Create(name, ["f", "g"],
            "f_ = sigmoid(f)\nh' = f_ * h + (1 - sigmoid(f - 1)) * tanh(g)", "f_", init: [new("f", "chrono")]),
        "peephole" => CellDefinition.Create(name, ["i", "f", "g", "o"], """
            i_ = sigmoid(i + p_i * c)
            f_ = sigmoid(f + p_f * c)
            c' = f_ * c + i_ * tanh(g)
            h' = sigmoid(o + p_o * c') * tanh(c')
            """, "f_", ["c"], parameters: [new("p_i", "default"), new("p_f", "default"), new("p_o", "default")]),
        "minlstm" => CellDefinition.Create(name, ["f", "i", "u"], """
            f_ = sigmoid(f)
            i_ = sigmoid(i)
            h' = f_ / (f_ + i_) * h + i_ / (f_ + i_) * where(u >= 0, u + 0.5, sigmoid(u))
            """, "f_", inputOnly: ["f", "i", "u"]),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(CellNames))]
    public void Backward_ShippedCell_MatchesFiniteDifferences(string name)
    {
        var graph = CellGraph.Compile(Shipped(name));
        var rng = new System.Random(s_seed);
        for (int trial = 0; trial < 20; trial++)
        {
            var problem = Problem.Random(graph, steps: 3, rng);
            problem.AssertGradients($"cell {name}, seed {s_seed}, trial {trial}");
        }
    }

    [Fact]
    public void Backward_RandomExpressions_MatchFiniteDifferences()
    {
        var rng = new System.Random(s_seed);
        var covered = new HashSet<CellOp>();
        int checkedCount = 0;
        for (int trial = 0; trial < 300; trial++)
        {
            var gen = new ExpressionGenerator(rng);
            string hLine = gen.Expression(4);
            string sLine = gen.Expression(3);
            string step = $"q = {gen.Expression(3)}\nh' = {hLine} + 0.1 * q\ns' = {sLine} + a * b * c * p * s";
            var def = CellDefinition.Create("random", ["a", "b", "c"], step, "q", ["s"], parameters: [new("p", "default")]);
            var result = CellChecker.Check(def);
            Assert.True(result.Ok, $"{step}\n{string.Join("\n", result.Diagnostics)}");
            var graph = result.Graph!;
            for (int point = 0; point < 3; point++)
            {
                var problem = Problem.Random(graph, steps: 2, rng);
                if (problem.NearKink())
                {
                    continue;   // a finite difference across a kink of max/min/where/relu/abs says nothing
                }

                problem.AssertGradients($"seed {s_seed}, trial {trial}:\n{step}");
                checkedCount++;
            }

            covered.UnionWith(graph.Nodes.Select(n => n.Op));
        }

        Assert.True(checkedCount > 500, $"only {checkedCount} points away from kinks");
        foreach (var op in Enum.GetValues<CellOp>())
        {
            Assert.True(covered.Contains(op), $"random expressions never produced {op}");
        }
    }

    [Fact]
    public void Backward_Ties_GoToFirstArgument()
    {
        // Exact ties: the gradient goes to the first argument (or the where's true branch), none to the other.
        var def = CellDefinition.Create("ties", ["a", "b"], """
            x = max(a, b)
            y = min(a, b)
            z = where(a >= b, 2 * a, 3 * b)
            w = relu(a - b) + abs(a - b)
            h' = x + 10 * y + 100 * z + 1000 * w
            """, "x");
        var graph = CellGraph.Compile(def);
        var values = new double[graph.Nodes.Length];
        var adjoints = new double[graph.Nodes.Length];
        CellReference.Forward(graph, [0.5, 0.5], 0, [], [], values);
        CellReference.Backward(graph, values, 1, [], adjoints);
        // d/da: max 1 + min 10 + where 200 + relu 1000 + abs 1000; d/db: relu −1000, abs −1000.
        Assert.Equal(1 + 10 + 200 + 1000 + 1000, adjoints[0], 12);
        Assert.Equal(-1000 - 1000, adjoints[1], 12);
    }

    [Fact]
    public void Backward_TiesBetweenEqualSubexpressions_MatchFiniteDifferences()
    {
        // max/min/where whose two sides are equal everywhere (a·b against b·a) tie at every point; the finite
        // difference is then well defined and must equal the first-argument rule.
        var def = CellDefinition.Create("ties2", ["a", "b"], """
            x = max(a * b, b * a) + min(tanh(a + b), tanh(b + a))
            y = where(exp(a) * b >= b * exp(a), sigmoid(a) * b, 3 * b)
            h' = x + y * h
            """, "x");
        var graph = CellGraph.Compile(def);
        var rng = new System.Random(s_seed);
        for (int trial = 0; trial < 20; trial++)
        {
            Problem.Random(graph, steps: 2, rng).AssertGradients($"ties, trial {trial}");
        }
    }

    /// <summary>A few chained steps of a cell with a random linear loss on the final h and states.</summary>
    private sealed class Problem
    {
        private readonly CellGraph _g;
        private readonly int _steps;
        private readonly double[] _x;        // blocks per step, then h0, states0, params
        private readonly double[] _wh;
        private readonly double[] _ws;

        private Problem(CellGraph g, int steps, double[] x, double[] ws, double wh)
        {
            _g = g;
            _steps = steps;
            _x = x;
            _ws = ws;
            _wh = [wh];
        }

        private int Nb => _g.Blocks.Length;

        private int Ns => _g.States.Length;

        private int Np => _g.Params.Length;

        public static Problem Random(CellGraph g, int steps, System.Random rng)
        {
            int n = (steps * g.Blocks.Length) + 1 + g.States.Length + g.Params.Length;
            var x = new double[n];
            for (int i = 0; i < n; i++)
            {
                x[i] = (rng.NextDouble() * 2) - 1;
            }

            // States that are normalisers (sLSTM's n) must stay positive, as they are from a zero start.
            for (int s = 0; s < g.States.Length; s++)
            {
                x[(steps * g.Blocks.Length) + 1 + s] = 0.2 + rng.NextDouble();
            }

            var ws = new double[g.States.Length];
            for (int s = 0; s < ws.Length; s++)
            {
                ws[s] = (rng.NextDouble() * 2) - 1;
            }

            return new Problem(g, steps, x, ws, (rng.NextDouble() * 2) - 1);
        }

        private double Loss(double[] x, List<double[]>? trace = null)
        {
            double h = x[_steps * Nb];
            var states = x.AsSpan((_steps * Nb) + 1, Ns).ToArray();
            var p = x.AsSpan((_steps * Nb) + 1 + Ns, Np).ToArray();
            for (int t = 0; t < _steps; t++)
            {
                var values = new double[_g.Nodes.Length];
                CellReference.Forward(_g, x.AsSpan(t * Nb, Nb), h, states, p, values);
                trace?.Add(values);
                h = values[_g.HiddenOutput];
                for (int s = 0; s < Ns; s++)
                {
                    states[s] = values[_g.StateOutputs[s]];
                }
            }

            double loss = _wh[0] * h;
            for (int s = 0; s < Ns; s++)
            {
                loss += _ws[s] * states[s];
            }

            return loss;
        }

        private double[] Gradient()
        {
            var trace = new List<double[]>();
            Loss(_x, trace);
            var grad = new double[_x.Length];
            double dh = _wh[0];
            var ds = (double[])_ws.Clone();
            var adj = new double[_g.Nodes.Length];
            for (int t = _steps - 1; t >= 0; t--)
            {
                CellReference.Backward(_g, trace[t], dh, ds, adj);
                for (int b = 0; b < Nb; b++)
                {
                    grad[(t * Nb) + b] = adj[CellGraph.BlockNode(b)];
                }

                dh = adj[_g.HiddenNode];
                for (int s = 0; s < Ns; s++)
                {
                    ds[s] = adj[_g.StateNode(s)];
                }

                for (int q = 0; q < Np; q++)
                {
                    grad[(_steps * Nb) + 1 + Ns + q] += adj[_g.ParamNode(q)];
                }
            }

            grad[_steps * Nb] = dh;
            for (int s = 0; s < Ns; s++)
            {
                grad[(_steps * Nb) + 1 + s] = ds[s];
            }

            return grad;
        }

        /// <summary>Whether some max/min/where/relu/abs sits within 1e-4 of its kink at this point (not exactly on it).</summary>
        public bool NearKink()
        {
            var trace = new List<double[]>();
            double loss = Loss(_x, trace);
            if (!double.IsFinite(loss))
            {
                return true;
            }

            foreach (var values in trace)
            {
                foreach (var (n, i) in _g.Nodes.Select((n, i) => (n, i)))
                {
                    double gap = n.Op switch
                    {
                        CellOp.Max or CellOp.Min or CellOp.Where => Math.Abs(values[n.Operands[0]] - values[n.Operands[1]]),
                        CellOp.Relu or CellOp.Abs => Math.Abs(values[n.Operands[0]]),
                        _ => double.PositiveInfinity,
                    };
                    // An exact 0 is a tie of two sides equal everywhere (a·b against b·a), where the difference is defined.
                    if (gap != 0 && gap < 1e-4)
                    {
                        return true;
                    }
                }
            }

            return false;
        }

        public void AssertGradients(string what)
        {
            var grad = Gradient();
            const double eps = 1e-6;
            for (int i = 0; i < _x.Length; i++)
            {
                var plus = (double[])_x.Clone();
                var minus = (double[])_x.Clone();
                plus[i] += eps;
                minus[i] -= eps;
                double fd = (Loss(plus) - Loss(minus)) / (2 * eps);
                double tol = 1e-6 + (1e-5 * Math.Max(Math.Abs(fd), Math.Abs(grad[i])));
                Assert.True(Math.Abs(fd - grad[i]) <= tol,
                    $"{what}: input {i}: symbolic {grad[i].ToString("R", CultureInfo.InvariantCulture)}, finite difference {fd.ToString("R", CultureInfo.InvariantCulture)}");
            }
        }
    }

    /// <summary>Random well-defined expressions over a, b, c, h, s, p using every operation.</summary>
    internal sealed class ExpressionGenerator(System.Random rng)
    {
        private static readonly string[] s_leaves = ["a", "b", "c", "h", "s", "p", "0.5", "2"];

        public string Expression(int depth)
        {
            if (depth == 0 || rng.Next(6) == 0)
            {
                return s_leaves[rng.Next(s_leaves.Length)];
            }

            string A() => Expression(depth - 1);
            return rng.Next(19) switch
            {
                0 => $"({A()} + {A()})",
                1 => $"({A()} - {A()})",
                2 => $"({A()} * {A()})",
                3 => $"({A()} / (1.5 + tanh({A()})))",
                4 => $"(-{A()})",
                5 => $"sigmoid({A()})",
                6 => $"tanh({A()})",
                7 => $"exp(tanh({A()}))",
                8 => $"log(0.5 + sigmoid({A()}))",
                9 => $"logsigmoid({A()})",
                10 => $"softplus({A()})",
                11 => $"relu({A()})",
                12 => $"abs({A()})",
                13 => $"sqrt(1 + {A()} * {A()})",
                14 => $"max({A()}, {A()})",
                15 => $"min({A()}, {A()})",
                16 => $"where({A()} {Comparison()} {A()}, {A()}, {A()})",
                17 => Tie(depth - 1),
                _ => $"({A()} * 0.25)",
            };
        }

        private string Comparison() => rng.Next(4) switch
        {
            0 => ">=",
            1 => ">",
            2 => "<=",
            _ => "<",
        };

        /// <summary>max/min/where over two sides equal everywhere: an exact tie at every point.</summary>
        private string Tie(int depth)
        {
            string x = Expression(depth);
            string y = Expression(depth);
            return rng.Next(3) switch
            {
                0 => $"max({x} * {y}, {y} * {x})",
                1 => $"min({x} + {y}, {y} + {x})",
                _ => $"where({x} * {y} >= {y} * {x}, {x}, {y})",
            };
        }
    }
}
