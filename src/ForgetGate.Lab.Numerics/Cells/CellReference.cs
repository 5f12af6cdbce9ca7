namespace ForgetGate.Lab.Numerics.Cells;

/// <summary>
/// Float64 evaluation of one cell step at one unit of one batch row, and its reverse-mode derivative: the
/// definition of every operation's value and gradient that engines must match (tests compare against it and check
/// it by finite differences).
/// </summary>
public static class CellReference
{
    /// <summary>
    /// Writes every node's value into <paramref name="values"/> (length <see cref="CellGraph.Nodes"/>.Count) from the
    /// block pre-activations, the previous h, the previous states and the params.
    /// </summary>
    public static void Forward(CellGraph graph, ReadOnlySpan<double> blocks, double hidden, ReadOnlySpan<double> states,
        ReadOnlySpan<double> parameters, Span<double> values)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var nodes = graph.Nodes;
        if (blocks.Length != graph.Blocks.Length || states.Length != graph.States.Length || parameters.Length != graph.Params.Length || values.Length < nodes.Length)
        {
            throw new ArgumentException(
                $"Cell '{graph.Name}' takes {graph.Blocks.Length} blocks, {graph.States.Length} states, {graph.Params.Length} params and {nodes.Length} values; got {blocks.Length}, {states.Length}, {parameters.Length}, {values.Length}.");
        }

        for (int i = 0; i < nodes.Length; i++)
        {
            var n = nodes[i];
            var o = n.Operands;
            values[i] = n.Op switch
            {
                CellOp.Block => blocks[n.Slot],
                CellOp.Hidden => hidden,
                CellOp.State => states[n.Slot],
                CellOp.Param => parameters[n.Slot],
                CellOp.Where => Compare(n.Comparison, values[o[0]], values[o[1]]) ? values[o[2]] : values[o[3]],
                _ => Apply(n.Op, n.Value, o.Length > 0 ? values[o[0]] : 0, o.Length > 1 ? values[o[1]] : 0),
            };
        }
    }

    /// <summary>The value of a non-input, non-where operation on a (and b).</summary>
    public static double Apply(CellOp op, double constant, double a, double b) => op switch
    {
        CellOp.Constant => constant,
        CellOp.Add => a + b,
        CellOp.Subtract => a - b,
        CellOp.Multiply => a * b,
        CellOp.Divide => a / b,
        CellOp.Negate => -a,
        CellOp.Sigmoid => Sigmoid(a),
        CellOp.Tanh => Math.Tanh(a),
        CellOp.Exp => Math.Exp(a),
        CellOp.Log => Math.Log(a),
        CellOp.LogSigmoid => Math.Min(a, 0) - Math.Log(1 + Math.Exp(-Math.Abs(a))),
        CellOp.Softplus => Math.Max(a, 0) + Math.Log(1 + Math.Exp(-Math.Abs(a))),
        CellOp.Relu => a >= 0 ? a : 0,
        CellOp.Abs => Math.Abs(a),
        CellOp.Sqrt => Math.Sqrt(a),
        CellOp.Max => a >= b ? a : b,
        CellOp.Min => a <= b ? a : b,
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, "Not a computed operation."),
    };

    /// <summary>σ(a), stable for large |a|.</summary>
    public static double Sigmoid(double a) => a >= 0 ? 1 / (1 + Math.Exp(-a)) : Math.Exp(a) / (1 + Math.Exp(a));

    /// <summary>Whether l cmp r holds.</summary>
    public static bool Compare(CellComparison cmp, double l, double r) => cmp switch
    {
        CellComparison.GreaterOrEqual => l >= r,
        CellComparison.Greater => l > r,
        CellComparison.LessOrEqual => l <= r,
        _ => l < r,
    };

    /// <summary>
    /// Reverse mode: from the forward <paramref name="values"/>, dL/dh' and dL/ds' (per state), writes every node's
    /// adjoint dL/d(node) into <paramref name="adjoints"/>; read block, h, state and param gradients at their input nodes.
    /// max/min/where/relu/abs send the gradient to the chosen branch (the first argument on ties).
    /// </summary>
    public static void Backward(CellGraph graph, ReadOnlySpan<double> values, double dHidden, ReadOnlySpan<double> dStates, Span<double> adjoints)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var nodes = graph.Nodes;
        if (dStates.Length != graph.States.Length || adjoints.Length < nodes.Length || values.Length < nodes.Length)
        {
            throw new ArgumentException($"Cell '{graph.Name}' needs {graph.States.Length} state gradients and {nodes.Length} values and adjoints.");
        }

        adjoints[..nodes.Length].Clear();
        adjoints[graph.HiddenOutput] += dHidden;
        for (int s = 0; s < dStates.Length; s++)
        {
            adjoints[graph.StateOutputs[s]] += dStates[s];
        }

        for (int i = nodes.Length - 1; i >= 0; i--)
        {
            double g = adjoints[i];
            var n = nodes[i];
            if (g == 0 || n.IsInput || n.Op == CellOp.Constant)
            {
                continue;
            }

            var o = n.Operands;
            double y = values[i];
            double a = o.Length > 0 ? values[o[0]] : 0;
            double b = o.Length > 1 ? values[o[1]] : 0;
            switch (n.Op)
            {
                case CellOp.Add:
                    adjoints[o[0]] += g;
                    adjoints[o[1]] += g;
                    break;
                case CellOp.Subtract:
                    adjoints[o[0]] += g;
                    adjoints[o[1]] -= g;
                    break;
                case CellOp.Multiply:
                    adjoints[o[0]] += g * b;
                    adjoints[o[1]] += g * a;
                    break;
                case CellOp.Divide:
                    adjoints[o[0]] += g / b;
                    adjoints[o[1]] -= g * y / b;
                    break;
                case CellOp.Negate:
                    adjoints[o[0]] -= g;
                    break;
                case CellOp.Sigmoid:
                    adjoints[o[0]] += g * y * (1 - y);
                    break;
                case CellOp.Tanh:
                    adjoints[o[0]] += g * (1 - (y * y));
                    break;
                case CellOp.Exp:
                    adjoints[o[0]] += g * y;
                    break;
                case CellOp.Log:
                    adjoints[o[0]] += g / a;
                    break;
                case CellOp.LogSigmoid:
                    adjoints[o[0]] += g * Sigmoid(-a);
                    break;
                case CellOp.Softplus:
                    adjoints[o[0]] += g * Sigmoid(a);
                    break;
                case CellOp.Relu:
                    if (a >= 0)
                    {
                        adjoints[o[0]] += g;
                    }

                    break;
                case CellOp.Abs:
                    adjoints[o[0]] += a >= 0 ? g : -g;
                    break;
                case CellOp.Sqrt:
                    adjoints[o[0]] += g / (2 * y);
                    break;
                case CellOp.Max:
                    adjoints[a >= b ? o[0] : o[1]] += g;
                    break;
                case CellOp.Min:
                    adjoints[a <= b ? o[0] : o[1]] += g;
                    break;
                case CellOp.Where:
                    adjoints[Compare(n.Comparison, a, b) ? o[2] : o[3]] += g;
                    break;
                default:
                    break;
            }
        }
    }
}
