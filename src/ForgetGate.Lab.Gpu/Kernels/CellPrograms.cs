using ILGPU;
using ILGPU.Algorithms;

namespace ForgetGate.Lab.Gpu.Kernels;

/// <summary>
/// Sizes, strides and table offsets of one time step of a cell-file layer (<see cref="CellPrograms"/>). Views handed
/// to the kernels start at run 0; run r's element is <c>r·stride</c> further on. Element e = b·H + u.
/// </summary>
internal struct CellProgramArgs
{
    /// <summary>Batch rows B.</summary>
    public int Batch;

    /// <summary>Hidden units H.</summary>
    public int Hidden;

    /// <summary>Time steps T of the pass.</summary>
    public int Steps;

    /// <summary>The step t.</summary>
    public int Step;

    /// <summary>Nodes of the program.</summary>
    public int Nodes;

    /// <summary>Gate blocks G, carried states S, per-unit parameters P.</summary>
    public int Blocks;

    /// <summary>Carried states besides h.</summary>
    public int States;

    /// <summary>Per-unit parameters.</summary>
    public int Params;

    /// <summary>Recurrent blocks R (rows of weight_hh / H).</summary>
    public int Recurrent;

    /// <summary>Node holding the new h, and the node index of the previous h.</summary>
    public int HiddenOutput;

    /// <summary>Node index of the previous h (= G).</summary>
    public int HiddenNode;

    /// <summary>Per-run strides: Zx/dZx [T·B·G·H], Zh (one step, [B·R·H]) and dZh [T·B·R·H], parameters, h [(T+1)·B·H].</summary>
    public int ZRun;

    /// <summary>Per-run stride of the one-step Zh buffer.</summary>
    public int ZhRun;

    /// <summary>Per-run stride of dZh over all steps.</summary>
    public int DZhRun;

    /// <summary>Per-run stride of the parameter (and gradient) buffer.</summary>
    public int ParamRun;

    /// <summary>Per-run stride of h and of one state ([(T+1)·B·H]).</summary>
    public int StateRun;

    /// <summary>Per-run stride of the incoming dL/dh view.</summary>
    public int DhRun;

    /// <summary>Offset in the table of the block → recurrent row index entries (−1: input-only).</summary>
    public int RecurrentTable;

    /// <summary>Offset in the table of the parameter offsets (within a run's parameter block).</summary>
    public int ParamTable;

    /// <summary>Offset in the table of the state output nodes.</summary>
    public int StateOutputTable;
}

/// <summary>
/// Cell files on the device: a generic kernel interprets the checked cell graph (<c>CellGraph</c>, DESIGN.md §4b),
/// one thread per (batch row, unit, run), as the managed engine's <c>CellProgram</c> does per element. The program is
/// a table of 8 ints per node (op, four operands, slot, comparison, unused) and a float constant per node. Forward
/// keeps every node's value in a tape (node-major, [run][node][T·B·H]); backward is reverse mode over that tape with
/// the rules of <c>CellReference.Backward</c>, adjoints in a per-thread scratch column. Every sum a thread makes runs
/// in node order; nothing is shared between threads, so results do not depend on the batch.
/// </summary>
internal static class CellPrograms
{
    /// <summary>Ints per node in the program table.</summary>
    public const int Stride = 8;

    // CellOp values (kept equal to the enum's order by a test: CellProgramTable.Ops).
    public const int OpBlock = 0, OpHidden = 1, OpState = 2, OpParam = 3, OpConstant = 4, OpAdd = 5, OpSubtract = 6, OpMultiply = 7,
        OpDivide = 8, OpNegate = 9, OpSigmoid = 10, OpTanh = 11, OpExp = 12, OpLog = 13, OpLogSigmoid = 14, OpSoftplus = 15, OpRelu = 16,
        OpAbs = 17, OpSqrt = 18, OpMax = 19, OpMin = 20, OpWhere = 21;

    /// <summary>
    /// One step of the layer: reads the block pre-activations (Zx at t, plus Zh of this step for recurrent blocks), h and
    /// the states at t and the parameters; writes every node's value to the tape at t, h and the states at t + 1.
    /// </summary>
    public static void Forward(
        Index2D index, CellProgramArgs a, ArrayView<int> table, ArrayView<float> constants, ArrayView<float> zx, ArrayView<float> zh,
        ArrayView<float> parameters, ArrayView<float> h, ArrayView<float> states, ArrayView<float> tape)
    {
        int e = index.X;
        int run = index.Y;
        int bh = a.Batch * a.Hidden;
        int u = e % a.Hidden;
        int b = e / a.Hidden;
        int tbh = a.Steps * bh;
        long tapeBase = ((long)run * a.Nodes * tbh) + ((long)a.Step * bh) + e;
        long zxBase = ((long)run * a.ZRun) + ((long)a.Step * a.Batch * a.Blocks * a.Hidden) + ((long)b * a.Blocks * a.Hidden) + u;
        long zhBase = ((long)run * a.ZhRun) + ((long)b * a.Recurrent * a.Hidden) + u;
        long hBase = ((long)run * a.StateRun) + ((long)a.Step * bh) + e;
        long stateBase = ((long)run * a.States * a.StateRun) + ((long)a.Step * bh) + e;
        for (int n = 0; n < a.Nodes; n++)
        {
            int row = n * Stride;
            int op = table[row];
            int slot = table[row + 5];
            float v;
            if (op == OpBlock)
            {
                v = zx[zxBase + ((long)slot * a.Hidden)];
                int r = table[a.RecurrentTable + slot];
                if (r >= 0)
                {
                    v += zh[zhBase + ((long)r * a.Hidden)];
                }
            }
            else if (op == OpHidden)
            {
                v = h[hBase];
            }
            else if (op == OpState)
            {
                v = states[stateBase + ((long)slot * a.StateRun)];
            }
            else if (op == OpParam)
            {
                v = parameters[((long)run * a.ParamRun) + table[a.ParamTable + slot] + u];
            }
            else if (op == OpConstant)
            {
                v = constants[n];
            }
            else
            {
                float x = tape[tapeBase + ((long)table[row + 1] * tbh)];
                float y = op is OpAdd or OpSubtract or OpMultiply or OpDivide or OpMax or OpMin or OpWhere ? tape[tapeBase + ((long)table[row + 2] * tbh)] : 0f;
                if (op == OpWhere)
                {
                    bool holds = Compare(table[row + 6], x, y);
                    v = tape[tapeBase + ((long)table[row + (holds ? 3 : 4)] * tbh)];
                }
                else
                {
                    v = Apply(op, x, y);
                }
            }

            tape[tapeBase + ((long)n * tbh)] = v;
        }

        h[hBase + bh] = tape[tapeBase + ((long)a.HiddenOutput * tbh)];
        for (int s = 0; s < a.States; s++)
        {
            states[stateBase + ((long)s * a.StateRun) + bh] = tape[tapeBase + ((long)table[a.StateOutputTable + s] * tbh)];
        }
    }

    /// <summary>
    /// Reverse mode over one step. In: the tape at t, dL/dh_t from outside the cell (<paramref name="dh"/>: from above
    /// and through W_hh), and the carries from step t + 1 (<paramref name="dhDirect"/>: the h node's adjoint;
    /// <paramref name="dStates"/>: each state node's). Out: dZx and dZh of every block at t, the per-element parameter
    /// contributions at t, and the carries for step t − 1 (overwriting the inputs, each thread its own element).
    /// </summary>
    public static void Backward(
        Index2D index, CellProgramArgs a, ArrayView<int> table, ArrayView<float> tape, ArrayView<float> dh, ArrayView<float> dhDirect,
        ArrayView<float> dStates, ArrayView<float> adjoints, ArrayView<float> dzx, ArrayView<float> dzh, ArrayView<float> dParams)
    {
        int e = index.X;
        int run = index.Y;
        int bh = a.Batch * a.Hidden;
        int u = e % a.Hidden;
        int b = e / a.Hidden;
        int tbh = a.Steps * bh;
        long tapeBase = ((long)run * a.Nodes * tbh) + ((long)a.Step * bh) + e;
        long adjBase = ((long)run * a.Nodes * bh) + e;
        long carry = ((long)run * bh) + e;
        long stateCarry = ((long)run * a.States * bh) + e;
        for (int n = 0; n < a.Nodes; n++)
        {
            adjoints[adjBase + ((long)n * bh)] = 0f;
        }

        adjoints[adjBase + ((long)a.HiddenOutput * bh)] += dh[((long)run * a.DhRun) + e] + dhDirect[carry];
        for (int s = 0; s < a.States; s++)
        {
            adjoints[adjBase + ((long)table[a.StateOutputTable + s] * bh)] += dStates[stateCarry + ((long)s * bh)];
        }

        for (int n = a.Nodes - 1; n >= 0; n--)
        {
            int row = n * Stride;
            int op = table[row];
            float g = adjoints[adjBase + ((long)n * bh)];
            if (g == 0f || op <= OpConstant)
            {
                continue;
            }

            int o0 = table[row + 1];
            int o1 = table[row + 2];
            float y = tape[tapeBase + ((long)n * tbh)];
            float x0 = tape[tapeBase + ((long)o0 * tbh)];
            float x1 = o1 >= 0 ? tape[tapeBase + ((long)o1 * tbh)] : 0f;
            long a0 = adjBase + ((long)o0 * bh);
            long a1 = adjBase + ((long)o1 * bh);
            switch (op)
            {
                case OpAdd:
                    adjoints[a0] += g;
                    adjoints[a1] += g;
                    break;
                case OpSubtract:
                    adjoints[a0] += g;
                    adjoints[a1] -= g;
                    break;
                case OpMultiply:
                    adjoints[a0] += g * x1;
                    adjoints[a1] += g * x0;
                    break;
                case OpDivide:
                    adjoints[a0] += g / x1;
                    adjoints[a1] -= g * y / x1;
                    break;
                case OpNegate:
                    adjoints[a0] -= g;
                    break;
                case OpSigmoid:
                    adjoints[a0] += g * y * (1f - y);
                    break;
                case OpTanh:
                    adjoints[a0] += g * (1f - (y * y));
                    break;
                case OpExp:
                    adjoints[a0] += g * y;
                    break;
                case OpLog:
                    adjoints[a0] += g / x0;
                    break;
                case OpLogSigmoid:
                    adjoints[a0] += g * DeviceMath.Sigmoid(-x0);
                    break;
                case OpSoftplus:
                    adjoints[a0] += g * DeviceMath.Sigmoid(x0);
                    break;
                case OpRelu:
                    if (x0 >= 0f)
                    {
                        adjoints[a0] += g;
                    }

                    break;
                case OpAbs:
                    adjoints[a0] += x0 >= 0f ? g : -g;
                    break;
                case OpSqrt:
                    adjoints[a0] += g / (2f * y);
                    break;
                case OpMax:
                    adjoints[x0 >= x1 ? a0 : a1] += g;
                    break;
                case OpMin:
                    adjoints[x0 <= x1 ? a0 : a1] += g;
                    break;
                default: // where: to the chosen branch, none to the compared values
                    adjoints[adjBase + ((long)table[row + (Compare(table[row + 6], x0, x1) ? 3 : 4)] * bh)] += g;
                    break;
            }
        }

        // Inputs' adjoints: blocks → dZ, h → the direct carry, states → their carries, params → per-element contributions.
        long dzxBase = ((long)run * a.ZRun) + ((long)a.Step * a.Batch * a.Blocks * a.Hidden) + ((long)b * a.Blocks * a.Hidden) + u;
        long dzhBase = ((long)run * a.DZhRun) + ((long)a.Step * a.Batch * a.Recurrent * a.Hidden) + ((long)b * a.Recurrent * a.Hidden) + u;
        for (int j = 0; j < a.Blocks; j++)
        {
            float g = adjoints[adjBase + ((long)j * bh)];
            dzx[dzxBase + ((long)j * a.Hidden)] = g;
            int r = table[a.RecurrentTable + j];
            if (r >= 0)
            {
                dzh[dzhBase + ((long)r * a.Hidden)] = g;
            }
        }

        dhDirect[carry] = adjoints[adjBase + ((long)a.HiddenNode * bh)];
        for (int s = 0; s < a.States; s++)
        {
            dStates[stateCarry + ((long)s * bh)] = adjoints[adjBase + ((long)(a.HiddenNode + 1 + s) * bh)];
        }

        long pBase = ((long)run * a.Params * tbh) + ((long)a.Step * bh) + e;
        for (int p = 0; p < a.Params; p++)
        {
            dParams[pBase + ((long)p * tbh)] = adjoints[adjBase + ((long)(a.HiddenNode + 1 + a.States + p) * bh)];
        }
    }

    private static bool Compare(int comparison, float l, float r) => comparison switch
    {
        1 => l >= r,
        2 => l > r,
        3 => l <= r,
        _ => l < r,
    };

    private static float Apply(int op, float a, float b) => op switch
    {
        OpAdd => a + b,
        OpSubtract => a - b,
        OpMultiply => a * b,
        OpDivide => a / b,
        OpNegate => -a,
        OpSigmoid => DeviceMath.Sigmoid(a),
        OpTanh => DeviceMath.Tanh(a),
        OpExp => XMath.Exp(a),
        OpLog => XMath.Log(a),
        OpLogSigmoid => XMath.Min(a, 0f) - XMath.Log(1f + XMath.Exp(-XMath.Abs(a))),
        OpSoftplus => XMath.Max(a, 0f) + XMath.Log(1f + XMath.Exp(-XMath.Abs(a))),
        OpRelu => a >= 0f ? a : 0f,
        OpAbs => XMath.Abs(a),
        OpSqrt => XMath.Sqrt(a),
        OpMax => a >= b ? a : b,
        _ => a <= b ? a : b,
    };
}
