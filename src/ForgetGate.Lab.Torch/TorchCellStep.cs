using ForgetGate.Lab.Numerics.Cells;
using static TorchSharp.torch;

namespace ForgetGate.Lab.Torch;

/// <summary>
/// One step of a checked cell graph (DESIGN.md §4b) as libtorch ops over [B, H] tensors, node by node in the graph's
/// evaluation order; autograd then differentiates what was computed, independently of the managed engine's generated
/// reverse mode (<see cref="CellReference.Backward"/> defines it), which is what makes the two engines a cross-check.
/// </summary>
/// <remarks>
/// Kinks follow the managed convention (<see cref="CellGraph"/>: the gradient goes to the chosen branch, the first
/// argument on ties) rather than libtorch's own: torch.maximum/minimum split the gradient 50/50 at a tie, torch.relu
/// passes none at 0 and torch.abs has gradient 0 at 0, so max, min, relu and abs are written as torch.where with the
/// managed engine's comparison (a ≥ b, a ≤ b, a ≥ 0). torch.where sends the gradient only to the selected branch,
/// exactly as the managed where does. Values are the same either way; only the gradient at exact ties differs.
/// </remarks>
internal static class TorchCellStep
{
    /// <summary>
    /// Every node's value for one step. <paramref name="constants"/> holds a 0-dim float32 tensor at each
    /// <see cref="CellOp.Constant"/> node (made once per forward by <see cref="Constants"/>), params are [H] and
    /// broadcast over the batch; results may therefore be 0-dim or [H] where a node reads no batch input
    /// (<see cref="AsBatch"/> shapes outputs).
    /// </summary>
    public static Tensor[] Evaluate(CellGraph graph, Tensor[] blocks, Tensor hidden, Tensor[] states, Tensor[] parameters, Tensor?[] constants, Tensor zero)
    {
        var nodes = graph.Nodes;
        var v = new Tensor[nodes.Length];
        for (int i = 0; i < nodes.Length; i++)
        {
            var n = nodes[i];
            var o = n.Operands;
            Tensor a = o.Length > 0 ? v[o[0]] : zero;
            Tensor b = o.Length > 1 ? v[o[1]] : zero;
            v[i] = n.Op switch
            {
                CellOp.Block => blocks[n.Slot],
                CellOp.Hidden => hidden,
                CellOp.State => states[n.Slot],
                CellOp.Param => parameters[n.Slot],
                CellOp.Constant => constants[i]!,
                CellOp.Add => a + b,
                CellOp.Subtract => a - b,
                CellOp.Multiply => a * b,
                CellOp.Divide => a / b,
                CellOp.Negate => -a,
                CellOp.Sigmoid => sigmoid(a),
                CellOp.Tanh => tanh(a),
                CellOp.Exp => exp(a),
                CellOp.Log => log(a),
                CellOp.LogSigmoid => nn.functional.logsigmoid(a),
                // softplus's default threshold 20 returns x above it: e^−20 is below float32's resolution of x there,
                // so value and gradient equal max(x, 0) + log(1 + e^−|x|), the managed form.
                CellOp.Softplus => nn.functional.softplus(a),
                CellOp.Relu => where(a.ge(zero), a, zero),
                CellOp.Abs => where(a.ge(zero), a, -a),
                CellOp.Sqrt => sqrt(a),
                CellOp.Max => where(a.ge(b), a, b),
                CellOp.Min => where(a.le(b), a, b),
                CellOp.Where => where(Compare(n.Comparison, a, b), v[o[2]], v[o[3]]),
                _ => throw new InvalidOperationException($"Cell '{graph.Name}': node {i} has operation {n.Op}, which the torch engine does not know."),
            };
        }

        return v;
    }

    /// <summary>A 0-dim float32 tensor per constant node (the managed engine rounds constants to float32 the same way).</summary>
    public static Tensor?[] Constants(CellGraph graph)
    {
        var nodes = graph.Nodes;
        var c = new Tensor?[nodes.Length];
        for (int i = 0; i < nodes.Length; i++)
        {
            if (nodes[i].Op == CellOp.Constant)
            {
                c[i] = tensor((float)nodes[i].Value);
            }
        }

        return c;
    }

    /// <summary>
    /// <paramref name="value"/> as [batch, hidden]: an output that reads only constants or params (a 0-dim or [H]
    /// result) is broadcast, so h, states and the forget gate always have the batch shape.
    /// </summary>
    public static Tensor AsBatch(Tensor value, long batch, long hidden) =>
        value.dim() == 2 && value.shape[0] == batch ? value : value.expand(batch, hidden);

    private static Tensor Compare(CellComparison cmp, Tensor l, Tensor r) => cmp switch
    {
        CellComparison.GreaterOrEqual => l.ge(r),
        CellComparison.Greater => l.gt(r),
        CellComparison.LessOrEqual => l.le(r),
        CellComparison.Less => l.lt(r),
        _ => throw new InvalidOperationException($"A where node has comparison {cmp}."),
    };
}
