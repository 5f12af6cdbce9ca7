using System.Collections.Immutable;

namespace ForgetGate.Lab.Numerics.Cells;

/// <summary>Operations of a checked cell graph. Elementwise over [B, H]; the first four are inputs.</summary>
public enum CellOp
{
    /// <summary>Pre-activation of gate block <see cref="CellNode.Slot"/> (W_ih x + b_ih [+ W_hh h + b_hh]).</summary>
    Block,

    /// <summary>The previous hidden state h.</summary>
    Hidden,

    /// <summary>The previous value of state <see cref="CellNode.Slot"/>.</summary>
    State,

    /// <summary>Per-unit parameter <see cref="CellNode.Slot"/> (a trained vector [H], broadcast over the batch).</summary>
    Param,

    /// <summary>The number <see cref="CellNode.Value"/>.</summary>
    Constant,

    /// <summary>a + b.</summary>
    Add,

    /// <summary>a − b.</summary>
    Subtract,

    /// <summary>a · b.</summary>
    Multiply,

    /// <summary>a / b.</summary>
    Divide,

    /// <summary>−a.</summary>
    Negate,

    /// <summary>σ(a) = 1 / (1 + e^−a).</summary>
    Sigmoid,

    /// <summary>tanh(a).</summary>
    Tanh,

    /// <summary>e^a.</summary>
    Exp,

    /// <summary>ln a.</summary>
    Log,

    /// <summary>log σ(a) = −softplus(−a).</summary>
    LogSigmoid,

    /// <summary>ln(1 + e^a).</summary>
    Softplus,

    /// <summary>max(a, 0); gradient to a where a ≥ 0.</summary>
    Relu,

    /// <summary>|a|; gradient sign +1 where a ≥ 0.</summary>
    Abs,

    /// <summary>√a.</summary>
    Sqrt,

    /// <summary>max(a, b); gradient to a where a ≥ b (first argument on ties).</summary>
    Max,

    /// <summary>min(a, b); gradient to a where a ≤ b (first argument on ties).</summary>
    Min,

    /// <summary>where(l cmp r, x, y) with <see cref="CellNode.Comparison"/>; gradient to the chosen branch, none to l, r.</summary>
    Where,
}

/// <summary>The comparison of a <see cref="CellOp.Where"/> node.</summary>
public enum CellComparison
{
    /// <summary>Not a where node.</summary>
    None,

    /// <summary>l ≥ r.</summary>
    GreaterOrEqual,

    /// <summary>l &gt; r.</summary>
    Greater,

    /// <summary>l ≤ r.</summary>
    LessOrEqual,

    /// <summary>l &lt; r.</summary>
    Less,
}

/// <summary>
/// One node of a checked cell graph: its operation, operand node indices (each smaller than this node's index; where
/// has four: l, r, x, y), the input slot or constant, and the step-line name it defines (null for subexpressions).
/// </summary>
public sealed record CellNode(CellOp Op, ImmutableArray<int> Operands, int Slot, double Value, CellComparison Comparison, string? Name)
{
    /// <summary>Whether the node is an input (block, h, state or param) rather than computed.</summary>
    public bool IsInput => Op is CellOp.Block or CellOp.Hidden or CellOp.State or CellOp.Param;
}

/// <summary>
/// A checked cell (made by <see cref="CellChecker"/>): the definition and its step as a flat list of nodes in
/// evaluation order, common subexpressions shared.
/// </summary>
/// <remarks>
/// How an engine walks it, per unit and batch row (everything is elementwise):
/// <list type="number">
/// <item>Forward: for i = 0 .. Nodes.Count − 1 set value[i] from the node: inputs read the block's pre-activation
/// (<see cref="CellOp.Block"/>, Slot = block index in <see cref="Blocks"/> order), the previous h, the previous state
/// Slot (in <see cref="States"/> order, all 0 at t = 0) or param Slot (in <see cref="Params"/> order); computed nodes
/// apply <see cref="CellNode.Op"/> to value[Operands[k]]. The new h is value[<see cref="HiddenOutput"/>], new state s
/// is value[<see cref="StateOutputs"/>[s]], the effective forget gate is value[<see cref="ForgetOutput"/>].</item>
/// <item>Backward (reverse mode): adjoint[] = 0; adjoint[HiddenOutput] += dL/dh', adjoint[StateOutputs[s]] += dL/ds';
/// for i = Nodes.Count − 1 down to 0 add node i's local derivative times adjoint[i] into its operands' adjoints
/// (<see cref="CellReference.Backward"/> is the float64 definition of each rule). Then adjoint of Block nodes is dL/dz
/// of that block, of Hidden the direct part of dL/dh (the W_hh part is the engine's GEMM), of State s dL/ds, of Param p
/// the per-element contribution to dL/dp (summed over batch and time).</item>
/// </list>
/// Input nodes come first, in the order blocks, h, states, params (<see cref="BlockNode"/> etc. give their indices),
/// whether or not the step reads them.
/// </remarks>
public sealed class CellGraph
{
    internal CellGraph(CellDefinition definition, ImmutableArray<CellNode> nodes, int hiddenOutput, ImmutableArray<int> stateOutputs, int forgetOutput,
        ImmutableArray<CellInit> blockInits, ImmutableArray<CellInit> paramInits)
    {
        Definition = definition;
        Nodes = nodes;
        HiddenOutput = hiddenOutput;
        StateOutputs = stateOutputs;
        ForgetOutput = forgetOutput;
        Blocks = [.. definition.Gates.Select(g => g.Text)];
        var inputOnly = definition.InputOnly.Select(n => n.Text).ToHashSet(StringComparer.Ordinal);
        InputOnly = [.. Blocks.Select(inputOnly.Contains)];
        RecurrentBlocks = [.. Enumerable.Range(0, Blocks.Length).Where(b => !InputOnly[b])];
        States = [.. definition.States.Select(s => s.Text)];
        Params = [.. definition.Params.Select(p => p.Target.Text)];
        BlockInits = blockInits;
        ParamInits = paramInits;
    }

    /// <summary>The definition this graph was checked from.</summary>
    public CellDefinition Definition { get; }

    /// <summary>The cell's name (its <c>model.variant</c>).</summary>
    public string Name => Definition.Name.Text;

    /// <summary>Nodes in evaluation order; every operand index is smaller than its node's.</summary>
    public ImmutableArray<CellNode> Nodes { get; }

    /// <summary>Gate block names in declared order (rows of weight_ih).</summary>
    public ImmutableArray<string> Blocks { get; }

    /// <summary>Per block: computed from x alone (no weight_hh / bias_hh rows).</summary>
    public ImmutableArray<bool> InputOnly { get; }

    /// <summary>Indices of the blocks with weight_hh rows, in order (the rows of weight_hh and bias_hh).</summary>
    public ImmutableArray<int> RecurrentBlocks { get; }

    /// <summary>Carried states besides h, in declared order.</summary>
    public ImmutableArray<string> States { get; }

    /// <summary>Per-unit parameters, in declared order (stored as rnn.&lt;name&gt;_l{k}).</summary>
    public ImmutableArray<string> Params { get; }

    /// <summary>Bias init per block (Default where the file names none).</summary>
    public ImmutableArray<CellInit> BlockInits { get; }

    /// <summary>Init per param.</summary>
    public ImmutableArray<CellInit> ParamInits { get; }

    /// <summary>Node holding the new h.</summary>
    public int HiddenOutput { get; }

    /// <summary>Node holding each state's new value, in <see cref="States"/> order.</summary>
    public ImmutableArray<int> StateOutputs { get; }

    /// <summary>Node holding the effective forget gate (telemetry).</summary>
    public int ForgetOutput { get; }

    /// <summary>Node index of block <paramref name="block"/>'s pre-activation.</summary>
    public static int BlockNode(int block) => block;

    /// <summary>Node index of the previous h.</summary>
    public int HiddenNode => Blocks.Length;

    /// <summary>Node index of state <paramref name="state"/>'s previous value.</summary>
    public int StateNode(int state) => Blocks.Length + 1 + state;

    /// <summary>Node index of param <paramref name="param"/>.</summary>
    public int ParamNode(int param) => Blocks.Length + 1 + States.Length + param;

    /// <summary>Number of input nodes (blocks, h, states, params).</summary>
    public int InputCount => Blocks.Length + 1 + States.Length + Params.Length;

    /// <summary>Whether any block has recurrent weights (weight_hh_l{k} exists).</summary>
    public bool HasRecurrentWeights => RecurrentBlocks.Length > 0;

    /// <summary>A short text of node i for error messages: the line name it defines, or its operation.</summary>
    public string Describe(int node)
    {
        var n = Nodes[node];
        return n.Name ?? n.Op switch
        {
            CellOp.Block => Blocks[n.Slot],
            CellOp.Hidden => "h",
            CellOp.State => States[n.Slot],
            CellOp.Param => Params[n.Slot],
            _ => n.Op.ToString().ToLowerInvariant() + "(…)",
        };
    }

    /// <summary>
    /// The step line, as the user wrote it and quoted, that holds node <paramref name="node"/>: the first named node at
    /// or after it that depends on it (the node itself when it is named); the node's description when no line does.
    /// Engines name it when a value goes non-finite.
    /// </summary>
    public string LineOf(int node)
    {
        for (int i = node; i < Nodes.Length; i++)
        {
            string? name = Nodes[i].Name;
            if (name is not null && (i == node || DependsOn(i, node)))
            {
                var text = Definition.Step.Select(l => l.Text.Trim())
                    .FirstOrDefault(l => l.StartsWith(name, StringComparison.Ordinal) && l[name.Length..].TrimStart().StartsWith('='));
                return text is null ? $"'{name}'" : $"'{text}'";
            }
        }

        return $"'{Describe(node)}'";
    }

    private bool DependsOn(int node, int on) => node == on || (node > on && Nodes[node].Operands.Any(o => DependsOn(o, on)));

    /// <summary>Checks <paramref name="definition"/>; throws <see cref="CellDefinitionException"/> with every problem.</summary>
    public static CellGraph Compile(CellDefinition definition)
    {
        var result = CellChecker.Check(definition);
        return result.Graph ?? throw new CellDefinitionException(result.Diagnostics);
    }
}
