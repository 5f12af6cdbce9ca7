using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using ForgetGate.Lab.Numerics.Cells;

namespace ForgetGate.Lab.Numerics.Kernels;

/// <summary>
/// A checked cell graph as flat arrays, interpreted node by node over a run of units: values and adjoints are laid
/// out node-major, [node · stride + unit], so each operation is one vector loop over contiguous floats (16 units per
/// tile, 8 lanes a vector) and the per-node dispatch is paid once per row, not once per unit. No allocation.
/// σ, tanh and exp are the fused kernels' own (<see cref="GateMath"/>), so a cell file computes what a built-in does.
/// </summary>
internal sealed class CellProgram
{
    private readonly CellOp[] _ops;
    private readonly int[] _a;
    private readonly int[] _b;
    private readonly int[] _c;
    private readonly int[] _d;
    private readonly float[] _constants;
    private readonly CellComparison[] _cmp;

    public CellProgram(CellGraph graph)
    {
        Graph = graph;
        var nodes = graph.Nodes;
        int n = nodes.Length;
        _ops = new CellOp[n];
        _a = new int[n];
        _b = new int[n];
        _c = new int[n];
        _d = new int[n];
        _constants = new float[n];
        _cmp = new CellComparison[n];
        for (int i = 0; i < n; i++)
        {
            var node = nodes[i];
            _ops[i] = node.Op;
            var o = node.Operands;
            _a[i] = o.Length > 0 ? o[0] : 0;
            _b[i] = o.Length > 1 ? o[1] : 0;
            _c[i] = o.Length > 2 ? o[2] : 0;
            _d[i] = o.Length > 3 ? o[3] : 0;
            _constants[i] = (float)node.Value;
            _cmp[i] = node.Comparison;
        }

        InputCount = graph.InputCount;
    }

    public CellGraph Graph { get; }

    public int NodeCount => _ops.Length;

    public int InputCount { get; }

    /// <summary>Computes nodes [InputCount, NodeCount) over units [u0, u1) (a multiple of 8 long); inputs are already in <paramref name="v"/>.</summary>
    public void Forward(float[] v, int stride, int u0, int u1)
    {
        ref float v0 = ref v[0];
        for (int i = InputCount; i < _ops.Length; i++)
        {
            ref float y = ref Unsafe.Add(ref v0, (i * stride) + u0);
            ref float a = ref Unsafe.Add(ref v0, (_a[i] * stride) + u0);
            ref float b = ref Unsafe.Add(ref v0, (_b[i] * stride) + u0);
            int n = u1 - u0;
            switch (_ops[i])
            {
                case CellOp.Constant:
                    new Span<float>(v, (i * stride) + u0, n).Fill(_constants[i]);
                    break;
                case CellOp.Where:
                    Where(_cmp[i], ref a, ref b, ref Unsafe.Add(ref v0, (_c[i] * stride) + u0), ref Unsafe.Add(ref v0, (_d[i] * stride) + u0), ref y, n);
                    break;
                default:
                    Apply(_ops[i], ref a, ref b, ref y, n);
                    break;
            }
        }
    }

    /// <summary>
    /// Reverse mode over the computed nodes for units [u0, u1): <paramref name="adj"/> holds the seeds (dL/dh', dL/ds')
    /// at the output nodes and zero elsewhere; on return every input node's adjoint is its gradient.
    /// </summary>
    public void Backward(float[] v, float[] adj, int stride, int u0, int u1, int adjOffset = 0)
    {
        ref float v0 = ref v[0];
        ref float g0 = ref adj[adjOffset];
        int n = u1 - u0;
        for (int i = _ops.Length - 1; i >= InputCount; i--)
        {
            var op = _ops[i];
            if (op == CellOp.Constant)
            {
                continue;
            }

            ref float y = ref Unsafe.Add(ref v0, (i * stride) + u0);
            ref float g = ref Unsafe.Add(ref g0, (i * stride) + u0);
            ref float a = ref Unsafe.Add(ref v0, (_a[i] * stride) + u0);
            ref float b = ref Unsafe.Add(ref v0, (_b[i] * stride) + u0);
            ref float ga = ref Unsafe.Add(ref g0, (_a[i] * stride) + u0);
            ref float gb = ref Unsafe.Add(ref g0, (_b[i] * stride) + u0);
            if (op == CellOp.Where)
            {
                WhereBackward(_cmp[i], ref a, ref b, ref g, ref Unsafe.Add(ref g0, (_c[i] * stride) + u0), ref Unsafe.Add(ref g0, (_d[i] * stride) + u0), n);
            }
            else
            {
                ApplyBackward(op, ref a, ref b, ref y, ref g, ref ga, ref gb, n);
            }
        }
    }

    private static Vector256<float> Sigmoid(Vector256<float> x) => GateMath.Sigmoid(new Lanes256(x)).Value;

    private static Vector256<float> Tanh(Vector256<float> x) => GateMath.Tanh(new Lanes256(x)).Value;

    private static Vector256<float> Exp(Vector256<float> x) => GateMath.Exp(new Lanes256(x)).Value;

    /// <summary>log(1 + e^−|x|), the smooth part of softplus and logsigmoid.</summary>
    private static Vector256<float> Log1pExpNegAbs(Vector256<float> x) => Vector256.Log(Vector256<float>.One + Exp(-Vector256.Abs(x)));

    private static Vector256<float> Mask(CellComparison cmp, Vector256<float> l, Vector256<float> r) => cmp switch
    {
        CellComparison.GreaterOrEqual => Vector256.GreaterThanOrEqual(l, r),
        CellComparison.Greater => Vector256.GreaterThan(l, r),
        CellComparison.LessOrEqual => Vector256.LessThanOrEqual(l, r),
        _ => Vector256.LessThan(l, r),
    };

    /// <summary>
    /// One node over n units. The switch picks a loop specialised for the op (a struct type argument the JIT compiles
    /// and inlines per op), so the dispatch is paid once per node and row, not once per vector. σ, tanh and exp run 16
    /// lanes at a time where AVX-512 is used (<see cref="MatMul.UseWide"/>): lanes are independent, so every element
    /// gets exactly the value the 8-lane path gives, whatever the width.
    /// </summary>
    private static void Apply(CellOp op, ref float a, ref float b, ref float y, int n)
    {
        switch (op)
        {
            case CellOp.Add: Map<AddOp>(ref a, ref b, ref y, n); break;
            case CellOp.Subtract: Map<SubtractOp>(ref a, ref b, ref y, n); break;
            case CellOp.Multiply: Map<MultiplyOp>(ref a, ref b, ref y, n); break;
            case CellOp.Divide: Map<DivideOp>(ref a, ref b, ref y, n); break;
            case CellOp.Negate: Map<NegateOp>(ref a, ref b, ref y, n); break;
            case CellOp.Sigmoid: MapWide<SigmoidOp>(ref a, ref y, n); break;
            case CellOp.Tanh: MapWide<TanhOp>(ref a, ref y, n); break;
            case CellOp.Exp: MapWide<ExpOp>(ref a, ref y, n); break;
            case CellOp.Log: Map<LogOp>(ref a, ref b, ref y, n); break;
            case CellOp.LogSigmoid: Map<LogSigmoidOp>(ref a, ref b, ref y, n); break;
            case CellOp.Softplus: Map<SoftplusOp>(ref a, ref b, ref y, n); break;
            case CellOp.Relu: Map<ReluOp>(ref a, ref b, ref y, n); break;
            case CellOp.Abs: Map<AbsOp>(ref a, ref b, ref y, n); break;
            case CellOp.Sqrt: Map<SqrtOp>(ref a, ref b, ref y, n); break;
            case CellOp.Max: Map<MaxOp>(ref a, ref b, ref y, n); break;
            case CellOp.Min: Map<MinOp>(ref a, ref b, ref y, n); break;
            default: Map<CopyOp>(ref a, ref b, ref y, n); break;
        }
    }

    private static void Map<TOp>(ref float a, ref float b, ref float y, int n)
        where TOp : struct, IForwardOp
    {
        for (nuint k = 0; k < (nuint)n; k += 8)
        {
            TOp.Apply(Vector256.LoadUnsafe(ref a, k), Vector256.LoadUnsafe(ref b, k)).StoreUnsafe(ref y, k);
        }
    }

    private static void MapWide<TOp>(ref float a, ref float y, int n)
        where TOp : struct, ILaneOp
    {
        if (MatMul.UseWide)
        {
            for (nuint k = 0; k < (nuint)n; k += 16)
            {
                TOp.Apply(Lanes512.Load(ref a, k)).Store(ref y, k);
            }
        }
        else
        {
            for (nuint k = 0; k < (nuint)n; k += 8)
            {
                TOp.Apply(Lanes256.Load(ref a, k)).Store(ref y, k);
            }
        }
    }

    private interface IForwardOp
    {
        static abstract Vector256<float> Apply(Vector256<float> x, Vector256<float> w);
    }

    private interface ILaneOp
    {
        static abstract T Apply<T>(T x)
            where T : struct, ILanes<T>;
    }

    private readonly struct AddOp : IForwardOp
    {
        public static Vector256<float> Apply(Vector256<float> x, Vector256<float> w) => x + w;
    }

    private readonly struct SubtractOp : IForwardOp
    {
        public static Vector256<float> Apply(Vector256<float> x, Vector256<float> w) => x - w;
    }

    private readonly struct MultiplyOp : IForwardOp
    {
        public static Vector256<float> Apply(Vector256<float> x, Vector256<float> w) => x * w;
    }

    private readonly struct DivideOp : IForwardOp
    {
        public static Vector256<float> Apply(Vector256<float> x, Vector256<float> w) => x / w;
    }

    private readonly struct NegateOp : IForwardOp
    {
        public static Vector256<float> Apply(Vector256<float> x, Vector256<float> w) => -x;
    }

    private readonly struct LogOp : IForwardOp
    {
        public static Vector256<float> Apply(Vector256<float> x, Vector256<float> w) => Vector256.Log(x);
    }

    private readonly struct LogSigmoidOp : IForwardOp
    {
        public static Vector256<float> Apply(Vector256<float> x, Vector256<float> w) => Vector256.Min(x, Vector256<float>.Zero) - Log1pExpNegAbs(x);
    }

    private readonly struct SoftplusOp : IForwardOp
    {
        public static Vector256<float> Apply(Vector256<float> x, Vector256<float> w) => Vector256.Max(x, Vector256<float>.Zero) + Log1pExpNegAbs(x);
    }

    private readonly struct ReluOp : IForwardOp
    {
        public static Vector256<float> Apply(Vector256<float> x, Vector256<float> w) => Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(x, Vector256<float>.Zero), x, Vector256<float>.Zero);
    }

    private readonly struct AbsOp : IForwardOp
    {
        public static Vector256<float> Apply(Vector256<float> x, Vector256<float> w) => Vector256.Abs(x);
    }

    private readonly struct SqrtOp : IForwardOp
    {
        public static Vector256<float> Apply(Vector256<float> x, Vector256<float> w) => Vector256.Sqrt(x);
    }

    private readonly struct MaxOp : IForwardOp
    {
        // First argument on ties (DESIGN.md §4b), also for the gradient below.
        public static Vector256<float> Apply(Vector256<float> x, Vector256<float> w) => Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(x, w), x, w);
    }

    private readonly struct MinOp : IForwardOp
    {
        public static Vector256<float> Apply(Vector256<float> x, Vector256<float> w) => Vector256.ConditionalSelect(Vector256.LessThanOrEqual(x, w), x, w);
    }

    private readonly struct CopyOp : IForwardOp
    {
        public static Vector256<float> Apply(Vector256<float> x, Vector256<float> w) => x;
    }

    private readonly struct SigmoidOp : ILaneOp
    {
        public static T Apply<T>(T x)
            where T : struct, ILanes<T> => GateMath.Sigmoid(x);
    }

    private readonly struct TanhOp : ILaneOp
    {
        public static T Apply<T>(T x)
            where T : struct, ILanes<T> => GateMath.Tanh(x);
    }

    private readonly struct ExpOp : ILaneOp
    {
        public static T Apply<T>(T x)
            where T : struct, ILanes<T> => GateMath.Exp(x);
    }

    private static void Where(CellComparison cmp, ref float l, ref float r, ref float x, ref float z, ref float y, int n)
    {
        for (nuint k = 0; k < (nuint)n; k += 8)
        {
            var m = Mask(cmp, Vector256.LoadUnsafe(ref l, k), Vector256.LoadUnsafe(ref r, k));
            Vector256.ConditionalSelect(m, Vector256.LoadUnsafe(ref x, k), Vector256.LoadUnsafe(ref z, k)).StoreUnsafe(ref y, k);
        }
    }

    private static void WhereBackward(CellComparison cmp, ref float l, ref float r, ref float g, ref float gx, ref float gz, int n)
    {
        var zero = Vector256<float>.Zero;
        for (nuint k = 0; k < (nuint)n; k += 8)
        {
            var m = Mask(cmp, Vector256.LoadUnsafe(ref l, k), Vector256.LoadUnsafe(ref r, k));
            var gv = Vector256.LoadUnsafe(ref g, k);
            (Vector256.LoadUnsafe(ref gx, k) + Vector256.ConditionalSelect(m, gv, zero)).StoreUnsafe(ref gx, k);
            (Vector256.LoadUnsafe(ref gz, k) + Vector256.ConditionalSelect(m, zero, gv)).StoreUnsafe(ref gz, k);
        }
    }

    /// <summary>One node's adjoint into its operands' over n units; like <see cref="Apply"/>, one loop per op.</summary>
    private static void ApplyBackward(CellOp op, ref float a, ref float b, ref float y, ref float g, ref float ga, ref float gb, int n)
    {
        switch (op)
        {
            case CellOp.Add: Back<AddGrad>(ref a, ref b, ref y, ref g, ref ga, ref gb, n); break;
            case CellOp.Subtract: Back<SubtractGrad>(ref a, ref b, ref y, ref g, ref ga, ref gb, n); break;
            case CellOp.Multiply: Back<MultiplyGrad>(ref a, ref b, ref y, ref g, ref ga, ref gb, n); break;
            case CellOp.Divide: Back<DivideGrad>(ref a, ref b, ref y, ref g, ref ga, ref gb, n); break;
            case CellOp.Negate: Back<NegateGrad>(ref a, ref b, ref y, ref g, ref ga, ref gb, n); break;
            case CellOp.Sigmoid: Back<SigmoidGrad>(ref a, ref b, ref y, ref g, ref ga, ref gb, n); break;
            case CellOp.Tanh: Back<TanhGrad>(ref a, ref b, ref y, ref g, ref ga, ref gb, n); break;
            case CellOp.Exp: Back<ExpGrad>(ref a, ref b, ref y, ref g, ref ga, ref gb, n); break;
            case CellOp.Log: Back<LogGrad>(ref a, ref b, ref y, ref g, ref ga, ref gb, n); break;
            case CellOp.LogSigmoid: Back<LogSigmoidGrad>(ref a, ref b, ref y, ref g, ref ga, ref gb, n); break;
            case CellOp.Softplus: Back<SoftplusGrad>(ref a, ref b, ref y, ref g, ref ga, ref gb, n); break;
            case CellOp.Relu: Back<ReluGrad>(ref a, ref b, ref y, ref g, ref ga, ref gb, n); break;
            case CellOp.Abs: Back<AbsGrad>(ref a, ref b, ref y, ref g, ref ga, ref gb, n); break;
            case CellOp.Sqrt: Back<SqrtGrad>(ref a, ref b, ref y, ref g, ref ga, ref gb, n); break;
            case CellOp.Max: Back<MaxGrad>(ref a, ref b, ref y, ref g, ref ga, ref gb, n); break;
            case CellOp.Min: Back<MinGrad>(ref a, ref b, ref y, ref g, ref ga, ref gb, n); break;
            default: break;
        }
    }

    private static void Back<TGrad>(ref float a, ref float b, ref float y, ref float g, ref float ga, ref float gb, int n)
        where TGrad : struct, IGradOp
    {
        for (nuint k = 0; k < (nuint)n; k += 8)
        {
            TGrad.Apply(ref a, ref b, ref y, Vector256.LoadUnsafe(ref g, k), ref ga, ref gb, k);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Accumulate(ref float target, nuint k, Vector256<float> value) =>
        (Vector256.LoadUnsafe(ref target, k) + value).StoreUnsafe(ref target, k);

    private interface IGradOp
    {
        /// <summary>Adds the adjoint <paramref name="gv"/> of the node's value at vector k to its operands' adjoints.</summary>
        static abstract void Apply(ref float a, ref float b, ref float y, Vector256<float> gv, ref float ga, ref float gb, nuint k);
    }

    private readonly struct AddGrad : IGradOp
    {
        public static void Apply(ref float a, ref float b, ref float y, Vector256<float> gv, ref float ga, ref float gb, nuint k)
        {
            Accumulate(ref ga, k, gv);
            Accumulate(ref gb, k, gv);
        }
    }

    private readonly struct SubtractGrad : IGradOp
    {
        public static void Apply(ref float a, ref float b, ref float y, Vector256<float> gv, ref float ga, ref float gb, nuint k)
        {
            Accumulate(ref ga, k, gv);
            Accumulate(ref gb, k, -gv);
        }
    }

    private readonly struct MultiplyGrad : IGradOp
    {
        public static void Apply(ref float a, ref float b, ref float y, Vector256<float> gv, ref float ga, ref float gb, nuint k)
        {
            var x = Vector256.LoadUnsafe(ref a, k);
            var w = Vector256.LoadUnsafe(ref b, k);
            Accumulate(ref ga, k, gv * w);
            Accumulate(ref gb, k, gv * x);
        }
    }

    private readonly struct DivideGrad : IGradOp
    {
        public static void Apply(ref float a, ref float b, ref float y, Vector256<float> gv, ref float ga, ref float gb, nuint k)
        {
            var q = gv / Vector256.LoadUnsafe(ref b, k);
            Accumulate(ref ga, k, q);
            Accumulate(ref gb, k, -(q * Vector256.LoadUnsafe(ref y, k)));
        }
    }

    private readonly struct NegateGrad : IGradOp
    {
        public static void Apply(ref float a, ref float b, ref float y, Vector256<float> gv, ref float ga, ref float gb, nuint k) => Accumulate(ref ga, k, -gv);
    }

    private readonly struct SigmoidGrad : IGradOp
    {
        public static void Apply(ref float a, ref float b, ref float y, Vector256<float> gv, ref float ga, ref float gb, nuint k)
        {
            var s = Vector256.LoadUnsafe(ref y, k);
            Accumulate(ref ga, k, gv * s * (Vector256<float>.One - s));
        }
    }

    private readonly struct TanhGrad : IGradOp
    {
        public static void Apply(ref float a, ref float b, ref float y, Vector256<float> gv, ref float ga, ref float gb, nuint k)
        {
            var t = Vector256.LoadUnsafe(ref y, k);
            Accumulate(ref ga, k, gv * (Vector256<float>.One - (t * t)));
        }
    }

    private readonly struct ExpGrad : IGradOp
    {
        public static void Apply(ref float a, ref float b, ref float y, Vector256<float> gv, ref float ga, ref float gb, nuint k) => Accumulate(ref ga, k, gv * Vector256.LoadUnsafe(ref y, k));
    }

    private readonly struct LogGrad : IGradOp
    {
        public static void Apply(ref float a, ref float b, ref float y, Vector256<float> gv, ref float ga, ref float gb, nuint k) => Accumulate(ref ga, k, gv / Vector256.LoadUnsafe(ref a, k));
    }

    private readonly struct LogSigmoidGrad : IGradOp
    {
        public static void Apply(ref float a, ref float b, ref float y, Vector256<float> gv, ref float ga, ref float gb, nuint k) => Accumulate(ref ga, k, gv * Sigmoid(-Vector256.LoadUnsafe(ref a, k)));
    }

    private readonly struct SoftplusGrad : IGradOp
    {
        public static void Apply(ref float a, ref float b, ref float y, Vector256<float> gv, ref float ga, ref float gb, nuint k) => Accumulate(ref ga, k, gv * Sigmoid(Vector256.LoadUnsafe(ref a, k)));
    }

    private readonly struct ReluGrad : IGradOp
    {
        public static void Apply(ref float a, ref float b, ref float y, Vector256<float> gv, ref float ga, ref float gb, nuint k) =>
            Accumulate(ref ga, k, Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(Vector256.LoadUnsafe(ref a, k), Vector256<float>.Zero), gv, Vector256<float>.Zero));
    }

    private readonly struct AbsGrad : IGradOp
    {
        public static void Apply(ref float a, ref float b, ref float y, Vector256<float> gv, ref float ga, ref float gb, nuint k) =>
            Accumulate(ref ga, k, Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(Vector256.LoadUnsafe(ref a, k), Vector256<float>.Zero), gv, -gv));
    }

    private readonly struct SqrtGrad : IGradOp
    {
        public static void Apply(ref float a, ref float b, ref float y, Vector256<float> gv, ref float ga, ref float gb, nuint k) =>
            Accumulate(ref ga, k, gv / (Vector256.LoadUnsafe(ref y, k) * Vector256.Create(2f)));
    }

    private readonly struct MaxGrad : IGradOp
    {
        public static void Apply(ref float a, ref float b, ref float y, Vector256<float> gv, ref float ga, ref float gb, nuint k)
        {
            var m = Vector256.GreaterThanOrEqual(Vector256.LoadUnsafe(ref a, k), Vector256.LoadUnsafe(ref b, k));
            Accumulate(ref ga, k, Vector256.ConditionalSelect(m, gv, Vector256<float>.Zero));
            Accumulate(ref gb, k, Vector256.ConditionalSelect(m, Vector256<float>.Zero, gv));
        }
    }

    private readonly struct MinGrad : IGradOp
    {
        public static void Apply(ref float a, ref float b, ref float y, Vector256<float> gv, ref float ga, ref float gb, nuint k)
        {
            var m = Vector256.LessThanOrEqual(Vector256.LoadUnsafe(ref a, k), Vector256.LoadUnsafe(ref b, k));
            Accumulate(ref ga, k, Vector256.ConditionalSelect(m, gv, Vector256<float>.Zero));
            Accumulate(ref gb, k, Vector256.ConditionalSelect(m, Vector256<float>.Zero, gv));
        }
    }
}
