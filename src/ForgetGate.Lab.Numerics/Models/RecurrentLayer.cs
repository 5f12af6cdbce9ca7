using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ForgetGate.Lab.Numerics.Cells;
using ForgetGate.Lab.Numerics.Kernels;

namespace ForgetGate.Lab.Numerics.Models;

/// <summary>
/// One recurrent layer in the engine's internal layout. Hidden units are padded to Hp (a multiple of 16) and
/// gate columns are permuted so that each 16-unit tile holds its G gate blocks side by side:
/// column(g, u) = (u / 16)·G·16 + g·16 + u % 16. A worker that owns a range of tiles therefore owns a contiguous
/// column range of every projection, and padded units stay exactly 0 (zero weights and biases).
/// Activations are time-major: row (t, b) of a [T·B, width] buffer.
/// A cell file's layer (<see cref="Cell"/> set, DESIGN.md §4b) runs the very same products; only the elementwise step
/// is the generic <see cref="CellProgram"/> instead of a fused cell. Its weight_hh/bias_hh hold the recurrent blocks'
/// rows only; input-only blocks keep zero W_hh panels in the packed layout, so the products need no special case.
/// </summary>
internal sealed partial class RecurrentLayer
{
    private const int U = GateMath.TileUnits;

    public RecurrentLayer(Variant variant, int index, int inputSize, int inputStride, int hidden, CellGraph? cell = null, int workers = 1)
    {
        Variant = variant;
        Cell = cell;
        G = cell?.Blocks.Length ?? variant.GateCount();
        _hhBlocks = cell is null ? [.. Enumerable.Range(0, G)] : [.. cell.RecurrentBlocks];
        R = _hhBlocks.Length;
        H = hidden;
        Hp = (hidden + U - 1) / U * U;
        Tiles = Hp / U;
        Gh = G * Hp;
        Din = inputSize;
        Dp = inputStride;
        WeightIh = new Parameter($"rnn.weight_ih_l{index}", G * hidden, inputSize);
        WeightHh = new Parameter($"rnn.weight_hh_l{index}", R * hidden, hidden);
        BiasIh = new Parameter($"rnn.bias_ih_l{index}", G * hidden);
        BiasHh = new Parameter($"rnn.bias_hh_l{index}", R * hidden);
        ForgetBias = cell is null && variant == Variant.UrLstm ? new Parameter($"rnn.forget_bias_l{index}", hidden) : null;
        if (cell is not null)
        {
            Program = new CellProgram(cell);
            S = cell.States.Length;
            CellParams = [.. cell.Params.Select(p => new Parameter($"rnn.{p}_l{index}", hidden))];
            ParamValues = new float[CellParams.Length * Hp];
            _scratch = new float[workers][];
        }
        WihT = new float[Panels.Length(Dp, Gh)];
        WihPerm = index > 0 ? new float[Panels.Length(Gh, Dp)] : [];
        WhhT = new float[Panels.Length(Hp, Gh)];
        WhhPerm = new float[Panels.Length(Gh, Hp)];
        BiasX = new float[Gh];
        BiasHn = new float[Gh];
        DW = new float[Gh * (Hp + ((Dp + U - 1) / U * U))];
        DBiasX = new float[Gh];
        DBiasH = new float[Gh];
    }

    public Variant Variant { get; }

    /// <summary>The cell file this layer computes, or null for a built-in variant.</summary>
    public CellGraph? Cell { get; }

    public CellProgram? Program { get; }

    /// <summary>Per worker: node values then adjoints, [2 · nodes · Hp], made on first use.</summary>
    private readonly float[][] _scratch = [];

    private readonly int[] _hhBlocks;   // block of each weight_hh row block (all blocks for the built-ins)

    public int G { get; }

    /// <summary>Blocks with weight_hh rows (G for the built-ins).</summary>
    public int R { get; }

    /// <summary>Cell states besides h (0 for the built-ins, whose c lives in <see cref="C"/>).</summary>
    public int S { get; }

    public Parameter[] CellParams { get; } = [];

    public float[] ParamValues { get; } = [];   // cell params padded to Hp each

    public int H { get; }

    public int Hp { get; }

    public int Tiles { get; }

    public int Gh { get; }

    public int Din { get; }

    public int Dp { get; }

    public Parameter WeightIh { get; }

    public Parameter WeightHh { get; }

    public Parameter BiasIh { get; }

    public Parameter BiasHh { get; }

    public Parameter? ForgetBias { get; }

    public bool IsGru => Variant == Variant.Gru;

    // Packed weights in MatMul panel layout, rebuilt by Pack() at every Forward (weights change every optimizer step).
    public float[] WihT { get; }      // [Dp, Gh]  B operand of Xp = X · W_ihᵀ

    public float[] WihPerm { get; }   // [Gh, Dp]  B operand of dX = dZ · W_ih (layers above the first)

    public float[] WhhT { get; }      // [Hp, Gh]  B operand of h · W_hhᵀ

    public float[] WhhPerm { get; }   // [Gh, Hp]  B operand of dh = dZ · W_hh

    public float[] BiasX { get; }     // b_ih + b_hh (GRU n block: b_in only; UR: ± forget_bias), permuted

    public float[] BiasHn { get; }    // GRU only: b_hn in the n block, permuted

    // Weight-gradient results in the permuted layout, unpacked into Parameter.Gradient.
    public float[] DW { get; }       // [Gh, Hp + Dp padded]: dW_hh then dW_ih, rows permuted

    public float[] DBiasX { get; }

    public float[] DBiasH { get; }

    // Activations of the last Forward, grown on demand.
    public float[] Z { get; private set; } = [];     // [T·B, Gh] pre-activations, then activations

    public float[] Hh { get; private set; } = [];    // GRU: [T·B, Gh] W_hh h (n block: + b_hn)

    public float[] C { get; private set; } = [];     // [(T+1)·B, Hp] cell states, row block 0 = c_0 = 0

    public float[] Hs { get; private set; } = [];    // [(T+1)·B, Hp] hidden states, row block 0 = h_0 = 0

    public float[] St { get; private set; } = [];    // cells: [(T+1)·B, S·Hp] states, row block 0 = 0

    public float[] F { get; private set; } = [];     // cells: [T·B, Hp] the forget: quantity of each step

    public float[] DParam { get; private set; } = [];   // cells, training: [T·B, P·Hp] per-step param gradients

    /// <summary>Width of the carried gradient dC (cells: one Hp block per state).</summary>
    public int CarriedWidth => Hp * Math.Max(1, S);

    public IEnumerable<Parameter> Parameters()
    {
        yield return WeightIh;
        if (R > 0)
        {
            yield return WeightHh;
        }

        yield return BiasIh;
        if (R > 0)
        {
            yield return BiasHh;
        }

        if (ForgetBias is not null)
        {
            yield return ForgetBias;
        }

        foreach (var p in CellParams)
        {
            yield return p;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Column(int gate, int unit) => ((unit / U) * G * U) + (gate * U) + (unit % U);

    public void Ensure(int batch, int steps, bool training = false)
    {
        int rows = batch * steps;
        Z = Grow(Z, rows * Gh);
        if (Cell is not null)
        {
            St = Grow(St, (rows + batch) * S * Hp);
            F = Grow(F, rows * Hp);
            if (training)
            {
                DParam = Grow(DParam, rows * CellParams.Length * Hp);
            }
        }
        else if (IsGru)
        {
            Hh = Grow(Hh, rows * Gh);
        }
        else
        {
            C = Grow(C, (rows + batch) * Hp);
        }

        Hs = Grow(Hs, (rows + batch) * Hp);
    }

    /// <summary>Returns <paramref name="buffer"/> when it is long enough, else a new one (buffers only grow).</summary>
    public static float[] Grow(float[] buffer, int length) => buffer.Length >= length ? buffer : new float[length];

    /// <summary>Copies the parameters into the permuted, padded layouts the kernels read.</summary>
    /// <remarks>
    /// A panel of W_ihᵀ or W_hhᵀ is the transpose of 16 consecutive rows of W (one gate of one tile), moved by
    /// register transposes; W_ih and W_hh for the backward products are row copies of 16 values each. Padding (units
    /// past H, features past Din) is never written and stays zero.
    /// </remarks>
    public void Pack()
    {
        var wih = WeightIh.Value;
        var whh = WeightHh.Value;
        for (int g = 0; g < G; g++)
        {
            for (int tile = 0; tile < Tiles; tile++)
            {
                int r0 = (g * H) + (tile * U);
                int rows = Math.Min(U, H - (tile * U));
                int panel = (tile * G) + g;   // Column(g, tile·16) / 16
                Panels.PackStripsTransposed(wih.AsSpan(r0 * Din), Din, Din, rows, 0, 1, 0, Din, WihT.AsSpan(panel * Dp * U, Dp * U));
            }
        }

        // weight_hh rows exist for the recurrent blocks only (all of them for the built-ins); the panels of an
        // input-only block stay zero.
        for (int rr = 0; rr < R; rr++)
        {
            int g = _hhBlocks[rr];
            for (int tile = 0; tile < Tiles; tile++)
            {
                int r0 = (rr * H) + (tile * U);
                int rows = Math.Min(U, H - (tile * U));
                int panel = (tile * G) + g;
                Panels.PackStripsTransposed(whh.AsSpan(r0 * H), H, H, rows, 0, 1, 0, H, WhhT.AsSpan(panel * Hp * U, Hp * U));
            }
        }

        for (int rr = 0; rr < R; rr++)
        {
            for (int u = 0; u < H; u++)
            {
                CopyRow(whh.AsSpan(((rr * H) + u) * H, H), WhhPerm, Column(_hhBlocks[rr], u), Gh);
            }
        }

        for (int p = 0; p < CellParams.Length; p++)
        {
            CellParams[p].Value.CopyTo(ParamValues, p * Hp);
        }

        var bih = BiasIh.Value;
        var bhh = BiasHh.Value;
        for (int r = 0; r < G * H; r++)
        {
            int g = r / H;
            int u = r % H;
            int col = Column(g, u);
            if (WihPerm.Length > 0)
            {
                CopyRow(wih.AsSpan(r * Din, Din), WihPerm, col, Gh);
            }

            if (IsGru && g == 2)
            {
                BiasX[col] = bih[r];
                BiasHn[col] = bhh[r];
            }
            else if (Cell is not null)
            {
                int rr = Array.IndexOf(_hhBlocks, g);
                BiasX[col] = rr >= 0 ? bih[r] + bhh[(rr * H) + u] : bih[r];
            }
            else
            {
                float b = bih[r] + bhh[r];
                if (ForgetBias is not null && g < 2)
                {
                    b = g == 0 ? b + ForgetBias.Value[u] : b - ForgetBias.Value[u];
                }

                BiasX[col] = b;
            }
        }
    }

    /// <summary>Writes one row of W as row <paramref name="col"/> of a panel-packed [k, n] matrix (its 16-value pieces, one per panel).</summary>
    private static void CopyRow(ReadOnlySpan<float> row, Span<float> panels, int col, int k)
    {
        for (int j0 = 0; j0 < row.Length; j0 += U)
        {
            row.Slice(j0, Math.Min(U, row.Length - j0)).CopyTo(panels.Slice(((j0 / U) * k * U) + (col * U)));
        }
    }

    /// <summary>
    /// The recurrent loop over all steps for batch rows [b0, b1) and tiles [tile0, tile1) of one worker, input
    /// projection included. Workers that split the batch are independent (no barrier); workers that split the
    /// tiles exchange h through <paramref name="barrier"/> once per step.
    /// </summary>
    public void ForwardSteps(float[] x, int xOffset, int batch, int steps, int b0, int b1, int tile0, int tile1, SpinBarrier? barrier, int worker = 0)
    {
        if (Program is not null)
        {
            ForwardCellSteps(x, xOffset, batch, steps, b0, b1, tile0, tile1, barrier, Scratch(worker));
        }
        else if (MatMul.UseWide)
        {
            ForwardSteps<Lanes512>(x, xOffset, batch, steps, b0, b1, tile0, tile1, barrier);
        }
        else
        {
            ForwardSteps<Lanes256>(x, xOffset, batch, steps, b0, b1, tile0, tile1, barrier);
        }
    }

    /// <summary>The recurrent loop with the cell kernels at lane width <typeparamref name="T"/>.</summary>
    private void ForwardSteps<T>(float[] x, int xOffset, int batch, int steps, int b0, int b1, int tile0, int tile1, SpinBarrier? barrier)
        where T : struct, ILanes<T>
    {
        int c0 = tile0 * G * U;
        int c1 = tile1 * G * U;
        int rowZ = batch * Gh;
        int rowH = batch * Hp;
        ref float z0 = ref MemoryMarshal.GetArrayDataReference(Z);
        ref float hs0 = ref MemoryMarshal.GetArrayDataReference(Hs);
        ref float cs0 = ref IsGru ? ref hs0 : ref MemoryMarshal.GetArrayDataReference(C);
        ref float hh0 = ref IsGru ? ref MemoryMarshal.GetArrayDataReference(Hh) : ref z0;
        ref float bn0 = ref MemoryMarshal.GetArrayDataReference(BiasHn);
        for (int t = 1; t <= steps; t++)
        {
            int zOff = (t - 1) * rowZ;
            int hPrevOff = (t - 1) * rowH;
            if (c1 > c0 && b1 > b0)
            {
                // Input projection of this step right before the recurrent product, so Z_t is still in cache
                // for the cell (one product for all steps would stream T·B·G·H floats through memory twice).
                int m = b1 - b0;
                var zt = Z.AsSpan(zOff + (b0 * Gh), m * Gh);
                MatMul.Multiply(m, Dp, x.AsSpan(xOffset + ((((t - 1) * batch) + b0) * Dp)), Dp, 1, WihT, c0, c1, zt, Gh, accumulate: false, BiasX);
                var hPrev = Hs.AsSpan(hPrevOff + (b0 * Hp), m * Hp);
                if (IsGru)
                {
                    MatMul.Multiply(m, Hp, hPrev, Hp, 1, WhhT, c0, c1, Hh.AsSpan(zOff + (b0 * Gh), m * Gh), Gh, accumulate: false, default);
                }
                else
                {
                    MatMul.Multiply(m, Hp, hPrev, Hp, 1, WhhT, c0, c1, zt, Gh, accumulate: true, default);
                }

                for (int b = b0; b < b1; b++)
                {
                    for (int tile = tile0; tile < tile1; tile++)
                    {
                        nint zi = zOff + (b * Gh) + (tile * G * U);
                        nint hp = hPrevOff + (b * Hp) + (tile * U);
                        nint hc = hp + rowH;
                        ref float z = ref Unsafe.Add(ref z0, zi);
                        switch (Variant)
                        {
                            case Variant.Gru:
                                GruCell.Forward<T>(ref z, ref Unsafe.Add(ref hh0, zi), ref Unsafe.Add(ref bn0, tile * G * U + (2 * U)),
                                    ref Unsafe.Add(ref hs0, hp), ref Unsafe.Add(ref hs0, hc));
                                break;
                            case Variant.Cifg:
                                CifgCell.Forward<T>(ref z, ref Unsafe.Add(ref cs0, hp), ref Unsafe.Add(ref cs0, hc), ref Unsafe.Add(ref hs0, hc));
                                break;
                            case Variant.UrLstm:
                                UrLstmCell.Forward<T>(ref z, ref Unsafe.Add(ref cs0, hp), ref Unsafe.Add(ref cs0, hc), ref Unsafe.Add(ref hs0, hc));
                                break;
                            default:
                                LstmCell.Forward<T>(ref z, ref Unsafe.Add(ref cs0, hp), ref Unsafe.Add(ref cs0, hc), ref Unsafe.Add(ref hs0, hc));
                                break;
                        }
                    }
                }
            }

            barrier?.SignalAndWait();
        }
    }

    /// <summary>
    /// Backward through time for batch rows [b0, b1) and tiles [tile0, tile1) of one worker (barrier as in ForwardSteps). dH [T·B, Hp] holds dL/dh_t from above
    /// and is updated in place with the recurrent part; dC [B, Hp] is the carried dL/dc (zero on entry).
    /// Writes dZx (input side) and dZh (hidden side; the same array except for the GRU).
    /// </summary>
    public void BackwardSteps(int batch, int steps, int b0, int b1, int tile0, int tile1, float[] dH, float[] dC, float[] dZx, float[] dZh, float[] scratch, SpinBarrier? barrier, int worker = 0)
    {
        if (Program is not null)
        {
            BackwardCellSteps(batch, steps, b0, b1, tile0, tile1, dH, dC, dZx, barrier, Scratch(worker));
        }
        else if (MatMul.UseWide)
        {
            BackwardSteps<Lanes512>(batch, steps, b0, b1, tile0, tile1, dH, dC, dZx, dZh, scratch, barrier);
        }
        else
        {
            BackwardSteps<Lanes256>(batch, steps, b0, b1, tile0, tile1, dH, dC, dZx, dZh, scratch, barrier);
        }
    }

    /// <summary>Backward through time with the cell kernels at lane width <typeparamref name="T"/>.</summary>
    private void BackwardSteps<T>(int batch, int steps, int b0, int b1, int tile0, int tile1, float[] dH, float[] dC, float[] dZx, float[] dZh, float[] scratch, SpinBarrier? barrier)
        where T : struct, ILanes<T>
    {
        int u0 = tile0 * U;
        int u1 = tile1 * U;
        int rowZ = batch * Gh;
        int rowH = batch * Hp;
        ref float z0 = ref MemoryMarshal.GetArrayDataReference(Z);
        ref float hs0 = ref MemoryMarshal.GetArrayDataReference(Hs);
        ref float cs0 = ref IsGru ? ref hs0 : ref MemoryMarshal.GetArrayDataReference(C);
        ref float hh0 = ref IsGru ? ref MemoryMarshal.GetArrayDataReference(Hh) : ref z0;
        ref float dh0 = ref MemoryMarshal.GetArrayDataReference(dH);
        ref float dc0 = ref MemoryMarshal.GetArrayDataReference(dC);
        ref float dzx0 = ref MemoryMarshal.GetArrayDataReference(dZx);
        ref float dzh0 = ref MemoryMarshal.GetArrayDataReference(dZh);
        ref float scratch0 = ref MemoryMarshal.GetArrayDataReference(scratch);
        for (int t = steps; t >= 1; t--)
        {
            int zOff = (t - 1) * rowZ;
            int dhOff = (t - 1) * rowH;
            if (u1 > u0 && b1 > b0)
            {
                if (t < steps)
                {
                    int m = b1 - b0;
                    MatMul.Multiply(m, Gh, dZh.AsSpan((t * rowZ) + (b0 * Gh), m * Gh), Gh, 1, WhhPerm, u0, u1, dH.AsSpan(dhOff + (b0 * Hp), m * Hp), Hp, accumulate: true, default);
                }

                for (int b = b0; b < b1; b++)
                {
                    for (int tile = tile0; tile < tile1; tile++)
                    {
                        nint zi = zOff + (b * Gh) + (tile * G * U);
                        nint unit = (b * Hp) + (tile * U);
                        nint hp = dhOff + unit;      // row block t-1 of Hs/C is the previous state
                        nint hc = hp + rowH;
                        ref float act = ref Unsafe.Add(ref z0, zi);
                        ref float dh = ref Unsafe.Add(ref dh0, dhOff + unit);
                        switch (Variant)
                        {
                            case Variant.Gru:
                                ref float dhPrev = ref t > 1 ? ref Unsafe.Add(ref dh0, dhOff - rowH + unit) : ref Unsafe.Add(ref scratch0, unit);
                                GruCell.Backward<T>(ref act, ref Unsafe.Add(ref hh0, zi), ref Unsafe.Add(ref hs0, hp), ref dh,
                                    ref Unsafe.Add(ref dzx0, zi), ref Unsafe.Add(ref dzh0, zi), ref dhPrev);
                                break;
                            case Variant.Cifg:
                                CifgCell.Backward<T>(ref act, ref Unsafe.Add(ref cs0, hp), ref Unsafe.Add(ref cs0, hc), ref dh,
                                    ref Unsafe.Add(ref dc0, unit), ref Unsafe.Add(ref dzx0, zi));
                                break;
                            case Variant.UrLstm:
                                UrLstmCell.Backward<T>(ref act, ref Unsafe.Add(ref cs0, hp), ref Unsafe.Add(ref cs0, hc), ref dh,
                                    ref Unsafe.Add(ref dc0, unit), ref Unsafe.Add(ref dzx0, zi));
                                break;
                            default:
                                LstmCell.Backward<T>(ref act, ref Unsafe.Add(ref cs0, hp), ref Unsafe.Add(ref cs0, hc), ref dh,
                                    ref Unsafe.Add(ref dc0, unit), ref Unsafe.Add(ref dzx0, zi));
                                break;
                        }
                    }
                }
            }

            barrier?.SignalAndWait();
        }
    }

    /// <summary>This worker's interpreter scratch: node values, then adjoints, each [nodes · Hp].</summary>
    public float[] Scratch(int worker) => _scratch[worker] ??= new float[2 * Program!.NodeCount * Hp];

    /// <summary>The recurrent loop of a cell file: the same products as the built-ins, then the interpreted step.</summary>
    private void ForwardCellSteps(float[] x, int xOffset, int batch, int steps, int b0, int b1, int tile0, int tile1, SpinBarrier? barrier, float[] v)
    {
        int c0 = tile0 * G * U;
        int c1 = tile1 * G * U;
        int rowZ = batch * Gh;
        int rowH = batch * Hp;
        for (int t = 1; t <= steps; t++)
        {
            int zOff = (t - 1) * rowZ;
            int hPrevOff = (t - 1) * rowH;
            if (c1 > c0 && b1 > b0)
            {
                int m = b1 - b0;
                var zt = Z.AsSpan(zOff + (b0 * Gh), m * Gh);
                MatMul.Multiply(m, Dp, x.AsSpan(xOffset + ((((t - 1) * batch) + b0) * Dp)), Dp, 1, WihT, c0, c1, zt, Gh, accumulate: false, BiasX);
                if (R > 0)
                {
                    MatMul.Multiply(m, Hp, Hs.AsSpan(hPrevOff + (b0 * Hp), m * Hp), Hp, 1, WhhT, c0, c1, zt, Gh, accumulate: true, default);
                }

                for (int b = b0; b < b1; b++)
                {
                    CellStep(t, batch, b, tile0, tile1, v);
                    int u0 = tile0 * U;
                    int n = (tile1 - tile0) * U;
                    var graph = Program!.Graph;
                    int row = (t * batch) + b;
                    CopyUnits(v.AsSpan((graph.HiddenOutput * Hp) + u0, n), Hs.AsSpan((row * Hp) + u0, n));
                    for (int s = 0; s < S; s++)
                    {
                        CopyUnits(v.AsSpan((graph.StateOutputs[s] * Hp) + u0, n), St.AsSpan((((row * S) + s) * Hp) + u0, n));
                    }

                    CopyUnits(v.AsSpan((graph.ForgetOutput * Hp) + u0, n), F.AsSpan(((((t - 1) * batch) + b) * Hp) + u0, n));
                    if (tile1 == Tiles && Hp > H)
                    {
                        // Padded units must stay exactly 0: the products multiply them by zero weights, and 0·NaN
                        // (a cell like c'/n' at an all-zero unit) would poison every real unit.
                        Hs.AsSpan((row * Hp) + H, Hp - H).Clear();
                        for (int s = 0; s < S; s++)
                        {
                            St.AsSpan((((row * S) + s) * Hp) + H, Hp - H).Clear();
                        }
                    }
                }
            }

            barrier?.SignalAndWait();
        }
    }

    /// <summary>Loads step t's inputs of batch row b, tiles [tile0, tile1), into <paramref name="v"/> and evaluates every node.</summary>
    public void CellStep(int t, int batch, int b, int tile0, int tile1, float[] v)
    {
        var graph = Program!.Graph;
        int u0 = tile0 * U;
        int n = (tile1 - tile0) * U;
        int zRow = (((t - 1) * batch) + b) * Gh;
        ref float z0 = ref MemoryMarshal.GetArrayDataReference(Z);
        ref float v0 = ref MemoryMarshal.GetArrayDataReference(v);
        for (int tile = tile0; tile < tile1; tile++)
        {
            for (int g = 0; g < G; g++)
            {
                CopyTile(ref Unsafe.Add(ref z0, zRow + (tile * G * U) + (g * U)), ref Unsafe.Add(ref v0, (CellGraph.BlockNode(g) * Hp) + (tile * U)));
            }
        }

        int prev = ((t - 1) * batch) + b;
        CopyUnits(Hs.AsSpan((prev * Hp) + u0, n), v.AsSpan((graph.HiddenNode * Hp) + u0, n));
        for (int s = 0; s < S; s++)
        {
            CopyUnits(St.AsSpan((((prev * S) + s) * Hp) + u0, n), v.AsSpan((graph.StateNode(s) * Hp) + u0, n));
        }

        for (int p = 0; p < CellParams.Length; p++)
        {
            CopyUnits(ParamValues.AsSpan((p * Hp) + u0, n), v.AsSpan((graph.ParamNode(p) * Hp) + u0, n));
        }

        Program.Forward(v, Hp, u0, u0 + n);
    }

    /// <summary>
    /// Backward through time of a cell file: the same dh product as the built-ins, then per row the step recomputed
    /// from the stored pre-activations and states and differentiated in reverse mode. dC carries dL/ds per state
    /// ([B, S·Hp]); the direct dL/dh_{t−1} of the step is added to dH's row block t−1 (the product adds W_hh's share
    /// there at the next iteration); per-step param gradients go to <see cref="DParam"/>, summed in fixed order later.
    /// </summary>
    private void BackwardCellSteps(int batch, int steps, int b0, int b1, int tile0, int tile1, float[] dH, float[] dC, float[] dZx, SpinBarrier? barrier, float[] scratch)
    {
        int u0 = tile0 * U;
        int u1 = tile1 * U;
        int n = u1 - u0;
        int rowZ = batch * Gh;
        int rowH = batch * Hp;
        var graph = Program!.Graph;
        int nodes = Program.NodeCount;
        int adjOff = nodes * Hp;
        int pCount = CellParams.Length;
        for (int t = steps; t >= 1; t--)
        {
            int zOff = (t - 1) * rowZ;
            int dhOff = (t - 1) * rowH;
            if (u1 > u0 && b1 > b0)
            {
                if (t < steps && R > 0)
                {
                    int m = b1 - b0;
                    MatMul.Multiply(m, Gh, dZx.AsSpan((t * rowZ) + (b0 * Gh), m * Gh), Gh, 1, WhhPerm, u0, u1, dH.AsSpan(dhOff + (b0 * Hp), m * Hp), Hp, accumulate: true, default);
                }

                for (int b = b0; b < b1; b++)
                {
                    CellStep(t, batch, b, tile0, tile1, scratch);
                    var adj = scratch.AsSpan(adjOff);
                    if (n == Hp)
                    {
                        adj[..(nodes * Hp)].Clear(); // one contiguous clear when this worker has every unit
                    }
                    else
                    {
                        for (int i = 0; i < nodes; i++)
                        {
                            adj.Slice((i * Hp) + u0, n).Clear();
                        }
                    }

                    Add(dH.AsSpan(dhOff + (b * Hp) + u0, n), adj.Slice((graph.HiddenOutput * Hp) + u0, n));
                    for (int s = 0; s < S; s++)
                    {
                        Add(dC.AsSpan((((b * S) + s) * Hp) + u0, n), adj.Slice((graph.StateOutputs[s] * Hp) + u0, n));
                    }

                    BackwardInto(scratch, u0, u1);
                    ref float adj0 = ref MemoryMarshal.GetReference(adj);
                    ref float dz0 = ref MemoryMarshal.GetArrayDataReference(dZx);
                    for (int tile = tile0; tile < tile1; tile++)
                    {
                        for (int g = 0; g < G; g++)
                        {
                            CopyTile(ref Unsafe.Add(ref adj0, (CellGraph.BlockNode(g) * Hp) + (tile * U)), ref Unsafe.Add(ref dz0, zOff + (b * Gh) + (tile * G * U) + (g * U)));
                        }
                    }

                    for (int s = 0; s < S; s++)
                    {
                        CopyUnits(adj.Slice((graph.StateNode(s) * Hp) + u0, n), dC.AsSpan((((b * S) + s) * Hp) + u0, n));
                    }

                    if (tile1 == Tiles && Hp > H)
                    {
                        // Padded units carry no gradient (see the forward); their adjoints may be NaN.
                        int last = zOff + (b * Gh) + ((Tiles - 1) * G * U);
                        for (int g = 0; g < G; g++)
                        {
                            dZx.AsSpan(last + (g * U) + (H % U), U - (H % U)).Clear();
                        }

                        for (int s = 0; s < S; s++)
                        {
                            dC.AsSpan((((b * S) + s) * Hp) + H, Hp - H).Clear();
                        }

                        adj.Slice((graph.HiddenNode * Hp) + H, Hp - H).Clear();
                    }

                    if (t > 1)
                    {
                        Add(adj.Slice((graph.HiddenNode * Hp) + u0, n), dH.AsSpan(dhOff - rowH + (b * Hp) + u0, n));
                    }

                    int row = ((t - 1) * batch) + b;
                    for (int p = 0; p < pCount; p++)
                    {
                        CopyUnits(adj.Slice((graph.ParamNode(p) * Hp) + u0, n), DParam.AsSpan((((row * pCount) + p) * Hp) + u0, n));
                    }
                }
            }

            barrier?.SignalAndWait();
        }

        static void Add(ReadOnlySpan<float> from, Span<float> into)
        {
            // A vector loop, not TensorPrimitives.Add: its per-call checks and dispatch cost more than 128 adds, and a
            // step does 2 + S of these per batch row. n is a whole number of tiles, so a multiple of 16.
            ref float f = ref MemoryMarshal.GetReference(from);
            ref float i = ref MemoryMarshal.GetReference(into);
            for (nuint k = 0; k < (nuint)into.Length; k += 8)
            {
                (Vector256.LoadUnsafe(ref i, k) + Vector256.LoadUnsafe(ref f, k)).StoreUnsafe(ref i, k);
            }
        }
    }

    /// <summary>Copies one gate block of a unit tile (<see cref="GateMath.TileUnits"/> = 16 floats) without a call: a row's step does G·tiles of these.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyTile(ref float source, ref float destination)
    {
        Vector256.LoadUnsafe(ref source).StoreUnsafe(ref destination);
        Vector256.LoadUnsafe(ref source, 8).StoreUnsafe(ref destination, 8);
    }

    /// <summary>Copies a whole number of unit tiles (a multiple of 16 floats) with vector moves, no call: the cell step does several per batch row.</summary>
    private static void CopyUnits(ReadOnlySpan<float> from, Span<float> to)
    {
        ref float f = ref MemoryMarshal.GetReference(from);
        ref float d = ref MemoryMarshal.GetReference(to);
        for (nuint k = 0; k < (nuint)from.Length; k += 16)
        {
            CopyTile(ref Unsafe.Add(ref f, k), ref Unsafe.Add(ref d, k));
        }
    }

    private void BackwardInto(float[] scratch, int u0, int u1)
    {
        // Values and adjoints share one array (values first); the program takes them as two arrays' views.
        Program!.Backward(scratch, scratch, Hp, u0, u1, Program.NodeCount * Hp);
    }

    /// <summary>Columns of the fused weight-gradient product: [dW_hh | dW_ih] side by side, each padded to panels.</summary>
    public int GradColumns => Hp + DpPadded;

    private int DpPadded => (Dp + U - 1) / U * U;

    /// <summary>
    /// Weight and bias gradients for the permuted rows [i0, i1) (gate columns) as one large product over all
    /// B·T rows: [dW_hh | dW_ih] = dZᵀ · [H_prev | X] (the GRU's n rows need two, their dZ differs per side), biases as
    /// column sums. Every worker first packs its share [p0, p1) of H_prev and X into the shared panel buffer,
    /// then waits at the barrier.
    /// </summary>
    public void WeightGradients(int rows, float[] x, int xOffset, float[] dZx, float[] dZh, float[] panels,
        int p0, int p1, int i0, int i1, SpinBarrier barrier)
    {
        int xPanels = Tiles * rows * U;
        Panels.Pack(Hs, Hp, rows, Hp, p0, p1, panels);
        Panels.Pack(x.AsSpan(xOffset), Dp, rows, Dp, p0, p1, panels.AsSpan(xPanels));
        barrier.SignalAndWait();
        if (i1 <= i0)
        {
            return;
        }

        // Bias gradients are column sums of dZ; the hidden side's equal the input side's except in the GRU's n rows,
        // which sum their own dZh (below).
        var sx = DBiasX.AsSpan(i0, i1 - i0);
        sx.Clear();
        for (int r = 0; r < rows; r++)
        {
            TensorPrimitives.Add(sx, dZx.AsSpan((r * Gh) + i0, i1 - i0), sx);
        }

        sx.CopyTo(DBiasH.AsSpan(i0, i1 - i0));
        int n = GradColumns;
        if (!IsGru)
        {
            MatMul.Multiply(i1 - i0, rows, dZx.AsSpan(i0), 1, Gh, panels, 0, n, DW.AsSpan(i0 * n), n, accumulate: false, default);
            return;
        }

        // The GRU's dZ differs between the sides only in the n block (dZh_n = r ⊙ dZx_n); its r and z rows are one
        // product over [H_prev | X] like the other variants, so only n rows pack their A twice.
        for (int i = i0; i < i1;)
        {
            int end = GruSegmentEnd(i, i1, out bool nBlock);
            if (nBlock)
            {
                MatMul.Multiply(end - i, rows, dZh.AsSpan(i), 1, Gh, panels, 0, Hp, DW.AsSpan(i * n), n, accumulate: false, default);
                MatMul.Multiply(end - i, rows, dZx.AsSpan(i), 1, Gh, panels, Hp, n, DW.AsSpan(i * n), n, accumulate: false, default);
                var sh = DBiasH.AsSpan(i, end - i);
                sh.Clear();
                for (int r = 0; r < rows; r++)
                {
                    TensorPrimitives.Add(sh, dZh.AsSpan((r * Gh) + i, end - i), sh);
                }
            }
            else
            {
                MatMul.Multiply(end - i, rows, dZx.AsSpan(i), 1, Gh, panels, 0, n, DW.AsSpan(i * n), n, accumulate: false, default);
            }

            i = end;
        }
    }

    /// <summary>
    /// The end of the run of permuted GRU rows starting at <paramref name="i"/> (at most <paramref name="end"/>) that
    /// lie in one tile's r and z blocks, or in its n block (<paramref name="nBlock"/>).
    /// </summary>
    private int GruSegmentEnd(int i, int end, out bool nBlock)
    {
        int tileStart = i - (i % (G * U));
        nBlock = i - tileStart >= 2 * U;
        return Math.Min(end, tileStart + (nBlock ? 3 * U : 2 * U));
    }

    /// <summary>dX rows [r0, r1) = dZx · W_ih: the gradient flowing into the layer below.</summary>
    public void InputGradient(float[] dZx, float[] dX, int r0, int r1) =>
        MatMul.Multiply(r1 - r0, Gh, dZx.AsSpan(r0 * Gh), Gh, 1, WihPerm, 0, Dp, dX.AsSpan(r0 * Dp), Dp, accumulate: false, default);

    /// <summary>Copies the permuted gradients into the parameters' PyTorch layout.</summary>
    public void UnpackGradients()
    {
        var gih = WeightIh.Gradient;
        var ghh = WeightHh.Gradient;
        for (int r = 0; r < G * H; r++)
        {
            int col = Column(r / H, r % H);
            DW.AsSpan((col * GradColumns) + Hp, Din).CopyTo(gih.AsSpan(r * Din, Din));
            BiasIh.Gradient[r] = DBiasX[col];
        }

        for (int r = 0; r < R * H; r++)
        {
            int col = Column(_hhBlocks[r / H], r % H);
            DW.AsSpan(col * GradColumns, H).CopyTo(ghh.AsSpan(r * H, H));
            BiasHh.Gradient[r] = DBiasH[col];
        }

        if (ForgetBias is not null)
        {
            for (int u = 0; u < H; u++)
            {
                ForgetBias.Gradient[u] = DBiasX[Column(0, u)] - DBiasX[Column(1, u)];
            }
        }
    }

    /// <summary>
    /// A cell's param gradients: the per-step contributions of the last backward summed over steps and rows in one
    /// fixed order (so any thread count gives the same bits).
    /// </summary>
    public void SumParamGradients(int rows)
    {
        int pCount = CellParams.Length;
        for (int p = 0; p < pCount; p++)
        {
            var g = CellParams[p].Gradient.AsSpan();
            g.Clear();
            for (int r = 0; r < rows; r++)
            {
                TensorPrimitives.Add(g, DParam.AsSpan(((r * pCount) + p) * Hp, H), g);
            }
        }
    }

    /// <summary>Effective forget gate of step t, row b, unit u from the stored activations.</summary>
    public float ForgetGate(int batch, int t, int b, int u)
    {
        if (Cell is not null)
        {
            return F[(((t * batch) + b) * Hp) + u];
        }

        int baseIndex = (((t * batch) + b) * Gh) + Column(0, u);
        return Variant switch
        {
            Variant.Cifg => Z[baseIndex],
            Variant.UrLstm => Gamma(Z[baseIndex], Z[baseIndex + U]),
            _ => Z[baseIndex + U],   // lstm family: f is block 1; gru: z is block 1
        };

        static float Gamma(float phi, float rho) => phi * ((2f * rho) + ((1f - (2f * rho)) * phi));
    }
}
