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

    private static void ApplyWide(CellOp op, ref float a, ref float b, ref float y, int n)
    {
        for (nuint k = 0; k < (nuint)n; k += 16)
        {
            var x = Vector512.LoadUnsafe(ref a, k);
            var r = op switch
            {
                CellOp.Add => x + Vector512.LoadUnsafe(ref b, k),
                CellOp.Subtract => x - Vector512.LoadUnsafe(ref b, k),
                CellOp.Multiply => x * Vector512.LoadUnsafe(ref b, k),
                CellOp.Divide => x / Vector512.LoadUnsafe(ref b, k),
                CellOp.Negate => -x,
                CellOp.Sigmoid => GateMath.Sigmoid(new Lanes512(x)).Value,
                CellOp.Tanh => GateMath.Tanh(new Lanes512(x)).Value,
                _ => GateMath.Exp(new Lanes512(x)).Value,
            };
            r.StoreUnsafe(ref y, k);
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

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Apply(CellOp op, ref float a, ref float b, ref float y, int n)
    {
        // 512-bit lanes where the fused kernels use them (MatMul.UseWide; FORGETGATE_VECTOR_BITS=256 turns them off) for
        // the operations a gate spends its time in: half the instructions of the 256-bit loop below, and every lane the
        // same operations (GateMath is one generic code path), so the values are the same at either width.
        if (MatMul.UseWide && (n & 15) == 0 && op is CellOp.Add or CellOp.Subtract or CellOp.Multiply or CellOp.Divide or CellOp.Negate
            or CellOp.Sigmoid or CellOp.Tanh or CellOp.Exp)
        {
            ApplyWide(op, ref a, ref b, ref y, n);
            return;
        }

        var zero = Vector256<float>.Zero;
        for (nuint k = 0; k < (nuint)n; k += 8)
        {
            var x = Vector256.LoadUnsafe(ref a, k);
            var r = op switch
            {
                CellOp.Add => x + Vector256.LoadUnsafe(ref b, k),
                CellOp.Subtract => x - Vector256.LoadUnsafe(ref b, k),
                CellOp.Multiply => x * Vector256.LoadUnsafe(ref b, k),
                CellOp.Divide => x / Vector256.LoadUnsafe(ref b, k),
                CellOp.Negate => -x,
                CellOp.Sigmoid => Sigmoid(x),
                CellOp.Tanh => Tanh(x),
                CellOp.Exp => Exp(x),
                CellOp.Log => Vector256.Log(x),
                CellOp.LogSigmoid => Vector256.Min(x, zero) - Log1pExpNegAbs(x),
                CellOp.Softplus => Vector256.Max(x, zero) + Log1pExpNegAbs(x),
                CellOp.Relu => Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(x, zero), x, zero),
                CellOp.Abs => Vector256.Abs(x),
                CellOp.Sqrt => Vector256.Sqrt(x),
                CellOp.Max => Max(x, Vector256.LoadUnsafe(ref b, k)),
                CellOp.Min => Min(x, Vector256.LoadUnsafe(ref b, k)),
                _ => x,
            };
            r.StoreUnsafe(ref y, k);
        }

        static Vector256<float> Max(Vector256<float> p, Vector256<float> q) => Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(p, q), p, q);

        static Vector256<float> Min(Vector256<float> p, Vector256<float> q) => Vector256.ConditionalSelect(Vector256.LessThanOrEqual(p, q), p, q);
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

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ApplyBackward(CellOp op, ref float a, ref float b, ref float y, ref float g, ref float ga, ref float gb, int n)
    {
        var one = Vector256<float>.One;
        var zero = Vector256<float>.Zero;
        for (nuint k = 0; k < (nuint)n; k += 8)
        {
            var gv = Vector256.LoadUnsafe(ref g, k);
            var x = Vector256.LoadUnsafe(ref a, k);
            switch (op)
            {
                case CellOp.Add:
                    Accumulate(ref ga, k, gv);
                    Accumulate(ref gb, k, gv);
                    break;
                case CellOp.Subtract:
                    Accumulate(ref ga, k, gv);
                    Accumulate(ref gb, k, -gv);
                    break;
                case CellOp.Multiply:
                    {
                        var w = Vector256.LoadUnsafe(ref b, k);
                        Accumulate(ref ga, k, gv * w);
                        Accumulate(ref gb, k, gv * x);
                        break;
                    }

                case CellOp.Divide:
                    {
                        var w = Vector256.LoadUnsafe(ref b, k);
                        var q = gv / w;
                        Accumulate(ref ga, k, q);
                        Accumulate(ref gb, k, -(q * Vector256.LoadUnsafe(ref y, k)));
                        break;
                    }

                case CellOp.Negate:
                    Accumulate(ref ga, k, -gv);
                    break;
                case CellOp.Sigmoid:
                    {
                        var s = Vector256.LoadUnsafe(ref y, k);
                        Accumulate(ref ga, k, gv * s * (one - s));
                        break;
                    }

                case CellOp.Tanh:
                    {
                        var t = Vector256.LoadUnsafe(ref y, k);
                        Accumulate(ref ga, k, gv * (one - (t * t)));
                        break;
                    }

                case CellOp.Exp:
                    Accumulate(ref ga, k, gv * Vector256.LoadUnsafe(ref y, k));
                    break;
                case CellOp.Log:
                    Accumulate(ref ga, k, gv / x);
                    break;
                case CellOp.LogSigmoid:
                    Accumulate(ref ga, k, gv * Sigmoid(-x));
                    break;
                case CellOp.Softplus:
                    Accumulate(ref ga, k, gv * Sigmoid(x));
                    break;
                case CellOp.Relu:
                    Accumulate(ref ga, k, Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(x, zero), gv, zero));
                    break;
                case CellOp.Abs:
                    Accumulate(ref ga, k, Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(x, zero), gv, -gv));
                    break;
                case CellOp.Sqrt:
                    Accumulate(ref ga, k, gv / (Vector256.LoadUnsafe(ref y, k) * Vector256.Create(2f)));
                    break;
                case CellOp.Max:
                    {
                        var m = Vector256.GreaterThanOrEqual(x, Vector256.LoadUnsafe(ref b, k));
                        Accumulate(ref ga, k, Vector256.ConditionalSelect(m, gv, zero));
                        Accumulate(ref gb, k, Vector256.ConditionalSelect(m, zero, gv));
                        break;
                    }

                case CellOp.Min:
                    {
                        var m = Vector256.LessThanOrEqual(x, Vector256.LoadUnsafe(ref b, k));
                        Accumulate(ref ga, k, Vector256.ConditionalSelect(m, gv, zero));
                        Accumulate(ref gb, k, Vector256.ConditionalSelect(m, zero, gv));
                        break;
                    }

                default:
                    break;
            }
        }

        static void Accumulate(ref float target, nuint k, Vector256<float> value) =>
            (Vector256.LoadUnsafe(ref target, k) + value).StoreUnsafe(ref target, k);
    }
}
