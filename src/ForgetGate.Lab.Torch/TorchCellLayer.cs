using System.Globalization;
using ForgetGate.Lab.Numerics.Cells;
using static TorchSharp.torch;

namespace ForgetGate.Lab.Torch;

/// <summary>
/// One layer of a cell file (DESIGN.md §4b) on libtorch, computed as the managed engine's generic layer computes it:
/// one input projection of every step at once, <c>W_ih x + b_ih</c> [T, B, G·H] in declared block order; per step the
/// recurrent product <c>W_hh h + b_hh</c> over the recurrent blocks only (input-only blocks have no rows there, and a
/// cell with none, such as minlstm, has no weight_hh/bias_hh at all) added to those blocks; then the step's
/// expressions as torch ops (<see cref="TorchCellStep"/>), per-unit params as [H] leaves broadcast over the batch,
/// extra states starting at 0 like h. Autograd gives the backward.
/// </summary>
internal sealed class TorchCellLayer : IDisposable
{
    private readonly CellGraph _cell;
    private readonly int _hidden;
    private readonly Tensor _weightIh;
    private readonly Tensor? _weightHh;
    private readonly Tensor _biasIh;
    private readonly Tensor? _biasHh;
    private readonly Tensor[] _params;
    private readonly Tensor? _recurrentRows;   // rows of the recurrent blocks in [G·H] when some blocks are input-only

    public TorchCellLayer(CellGraph cell, int index, long inputSize, int hidden)
    {
        _cell = cell;
        _hidden = hidden;
        string sfx = string.Create(CultureInfo.InvariantCulture, $"_l{index}");
        long gh = (long)cell.Blocks.Length * hidden;
        long rh = (long)cell.RecurrentBlocks.Length * hidden;
        var leaves = new List<(string, Tensor)>();
        _weightIh = Leaf(leaves, "rnn.weight_ih" + sfx, [gh, inputSize]);
        _weightHh = rh > 0 ? Leaf(leaves, "rnn.weight_hh" + sfx, [rh, hidden]) : null;
        _biasIh = Leaf(leaves, "rnn.bias_ih" + sfx, [gh]);
        _biasHh = rh > 0 ? Leaf(leaves, "rnn.bias_hh" + sfx, [rh]) : null;
        _params = [.. cell.Params.Select(p => Leaf(leaves, $"rnn.{p}{sfx}", [hidden]))];
        if (rh > 0 && rh < gh)
        {
            _recurrentRows = tensor(cell.RecurrentBlocks.SelectMany(g => Enumerable.Range(g * hidden, hidden)).Select(r => (long)r).ToArray());
        }
        Leaves = leaves;
    }

    /// <summary>This layer's leaves by state_dict name (the checkpoint layout of §4b).</summary>
    public IReadOnlyList<(string Name, Tensor Leaf)> Leaves { get; }

    /// <summary>
    /// Runs the layer over <paramref name="seq"/> [B, T, D]: returns h of every step [B, T, H] and, in
    /// <paramref name="forget"/>, the effective forget gate (the graph's <c>forget:</c> node) detached, [T, B, H].
    /// <paramref name="states"/> receives each state's value at every step, [T, B, H] per state, for the finiteness
    /// check. Must run inside the caller's dispose scope.
    /// </summary>
    public Tensor Forward(Tensor seq, out Tensor forget, out Tensor[] states)
    {
        long batch = seq.shape[0];
        int steps = (int)seq.shape[1];
        int h = _hidden;
        var graph = _cell;
        var (xp, whhT) = Project(seq);
        var constants = TorchCellStep.Constants(graph);
        var zero = tensor(0f);
        var hidden = zeros([batch, h]);
        var state = new Tensor[graph.States.Length];
        for (int s = 0; s < state.Length; s++)
        {
            state[s] = zeros([batch, h]);
        }

        var hs = new Tensor[steps];
        var fs = new Tensor[steps];
        var ss = new Tensor[state.Length][];
        for (int s = 0; s < state.Length; s++)
        {
            ss[s] = new Tensor[steps];
        }

        for (int t = 0; t < steps; t++)
        {
            var v = TorchCellStep.Evaluate(graph, Blocks(xp.select(0, t), whhT, hidden), hidden, state, _params, constants, zero);
            hidden = TorchCellStep.AsBatch(v[graph.HiddenOutput], batch, h);
            for (int s = 0; s < state.Length; s++)
            {
                state[s] = TorchCellStep.AsBatch(v[graph.StateOutputs[s]], batch, h);
                ss[s][t] = state[s].detach();
            }

            hs[t] = hidden;
            fs[t] = TorchCellStep.AsBatch(v[graph.ForgetOutput], batch, h).detach();
        }

        forget = stack(fs, 0);
        states = [.. ss.Select(s => stack(s, 0))];
        return stack(hs, 1);
    }

    /// <summary>
    /// Step <paramref name="t"/> evaluated again without gradients for the inputs it had (h and states of step t − 1 from
    /// <paramref name="hiddenSeq"/> [B, T, H] and <paramref name="statesSeq"/> [T, B, H] each): every node's value,
    /// to find the expression that first went non-finite.
    /// </summary>
    public Tensor[] Replay(Tensor seq, Tensor hiddenSeq, Tensor[] statesSeq, int t)
    {
        using var noGrad = no_grad();
        long batch = seq.shape[0];
        int h = _hidden;
        var graph = _cell;
        var (xp, whhT) = Project(seq);
        var hidden = t == 0 ? zeros([batch, h]) : hiddenSeq.select(1, t - 1);
        var state = statesSeq.Select(s => t == 0 ? zeros([batch, h]) : s.select(0, t - 1)).ToArray();
        var v = TorchCellStep.Evaluate(graph, Blocks(xp.select(0, t), whhT, hidden), hidden, state, _params, TorchCellStep.Constants(graph), tensor(0f));
        return [.. v.Select(x => TorchCellStep.AsBatch(x, batch, h))];
    }

    /// <summary>
    /// Once per forward: every step's input projection with both biases, time-major [T, B, G·H] (so a step's slice is
    /// contiguous), and the transposed recurrent weight over all G blocks, or null when no block is recurrent. When
    /// every block is recurrent that is W_hhᵀ itself; otherwise W_hh's rows sit at their blocks' rows of a zero
    /// [G·H, H] (index_copy, through which autograd returns exactly W_hh's rows), so input-only blocks get 0 from the
    /// product. Then a step is one addmm and one chunk rather than a product, G slices and R adds: a cell's per-step op
    /// count is what the torch engine's speed depends on.
    /// </summary>
    private (Tensor Xp, Tensor? WhhT) Project(Tensor seq)
    {
        var bias = _biasIh;
        Tensor? whh = null;
        if (_weightHh is not null)
        {
            if (_recurrentRows is null)
            {
                bias = _biasIh + _biasHh!;
                whh = _weightHh;
            }
            else
            {
                bias = _biasIh.index_add(0, _recurrentRows, _biasHh!, 1);
                whh = zeros([_cell.Blocks.Length * (long)_hidden, _hidden]).index_copy(0, _recurrentRows, _weightHh);
            }
        }

        var xp = nn.functional.linear(seq.transpose(0, 1), _weightIh, bias);
        return (xp, whh?.t());
    }

    /// <summary>
    /// The block pre-activations of one step, each [B, H] in declared order: <c>W_ih x + b_ih + W_hh h + b_hh</c>, the
    /// step's slice <paramref name="xt"/> of the projection plus the recurrent product (as the managed engine's one
    /// recurrent GEMM over the recurrent blocks; none for a cell without them).
    /// </summary>
    private Tensor[] Blocks(Tensor xt, Tensor? whhT, Tensor hidden)
    {
        var z = whhT is null ? xt : addmm(xt, hidden, whhT, beta: 1, alpha: 1);
        return z.chunk(_cell.Blocks.Length, 1);
    }

    public void Dispose()
    {
        _recurrentRows?.Dispose();
        foreach (var (_, t) in Leaves)
        {
            t.Dispose();
        }
    }

    private static Tensor Leaf(List<(string, Tensor)> leaves, string name, long[] shape)
    {
        var t = zeros(shape, requires_grad: true);
        leaves.Add((name, t));
        return t;
    }
}
