using System.Globalization;
using ForgetGate.Lab.Numerics.Cells;
using static TorchSharp.torch;

namespace ForgetGate.Lab.Torch;

/// <summary>
/// One layer of a cell file (DESIGN.md §4b) on libtorch, computed as the managed engine's generic layer computes it:
/// one input projection of every step at once, <c>W_ih x + b_ih</c> [B, T, G·H] in declared block order; per step the
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
        var xp = nn.functional.linear(seq, _weightIh, _biasIh);     // [B, T, G·H]: every step's input projection at once
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
            var v = TorchCellStep.Evaluate(graph, Blocks(xp.select(1, t), hidden), hidden, state, _params, constants, zero);
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
        var xt = nn.functional.linear(seq.select(1, t), _weightIh, _biasIh);
        var hidden = t == 0 ? zeros([batch, h]) : hiddenSeq.select(1, t - 1);
        var state = statesSeq.Select(s => t == 0 ? zeros([batch, h]) : s.select(0, t - 1)).ToArray();
        var v = TorchCellStep.Evaluate(graph, Blocks(xt, hidden), hidden, state, _params, TorchCellStep.Constants(graph), tensor(0f));
        return [.. v.Select(x => TorchCellStep.AsBatch(x, batch, h))];
    }

    /// <summary>
    /// The block pre-activations of one step, each [B, H]: the step's slice of the input projection
    /// <paramref name="xt"/> [B, G·H], plus for each recurrent block its rows of <c>W_hh h + b_hh</c> (one product for
    /// all recurrent blocks, as the managed engine's recurrent GEMM).
    /// </summary>
    private Tensor[] Blocks(Tensor xt, Tensor hidden)
    {
        int h = _hidden;
        var graph = _cell;
        var z = new Tensor[graph.Blocks.Length];
        for (int g = 0; g < z.Length; g++)
        {
            z[g] = xt.narrow(1, (long)g * h, h);
        }

        if (_weightHh is not null)
        {
            var rec = nn.functional.linear(hidden, _weightHh, _biasHh);   // [B, R·H]
            for (int r = 0; r < graph.RecurrentBlocks.Length; r++)
            {
                int g = graph.RecurrentBlocks[r];
                z[g] = z[g] + rec.narrow(1, (long)r * h, h);
            }
        }

        return z;
    }

    public void Dispose()
    {
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
