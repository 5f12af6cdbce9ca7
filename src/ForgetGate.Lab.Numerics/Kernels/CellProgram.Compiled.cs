using System.Linq.Expressions;
using System.Reflection;
using System.Runtime.Intrinsics;
using ForgetGate.Lab.Numerics.Cells;

namespace ForgetGate.Lab.Numerics.Kernels;

/// <summary>
/// The cell graph compiled (System.Linq.Expressions → IL → JIT) into two fused loops over 8 units at a time: the step,
/// which keeps every intermediate node in registers and stores only h', the new states and the forget output; and the
/// step's reverse mode, which recomputes the step in registers and stores only the inputs' adjoints. The interpreter
/// above stores every node of a row to memory and reads it back per op; here a row's step touches memory only for its
/// inputs and outputs. Every element gets exactly the interpreter's value: the same operations in the same order
/// (adjoints start at +0 and are accumulated in the interpreter's node order), only without the trips through memory.
/// </summary>
internal sealed partial class CellProgram
{
    /// <summary>The lane width the compiled loops use: 16 where AVX-512 is (<see cref="MatMul.UseWide"/>), else 8.</summary>
    private static readonly Type s_lanes = MatMul.UseWide ? typeof(Wide) : typeof(Narrow);
    private static readonly Type s_v = MatMul.UseWide ? typeof(Vector512<float>) : typeof(Vector256<float>);
    private static readonly int s_count = MatMul.UseWide ? 16 : 8;

    private Action<float[], int, int, int>? _compiledForward;
    private Action<float[], float[], int, int, int, int>? _compiledBackward;

    /// <summary>Like <see cref="Forward"/>, but computes only the output nodes (h', states', forget) into <paramref name="v"/>.</summary>
    public void ForwardOutputs(float[] v, int stride, int u0, int u1) => (_compiledForward ??= CompileForward())(v, stride, u0, u1);

    /// <summary>
    /// Reverse mode from the inputs alone: <paramref name="v"/> holds the input nodes, <paramref name="adj"/> (at
    /// <paramref name="adjOffset"/>) the seeds at the output nodes; on return the input nodes' adjoints hold their gradients.
    /// </summary>
    public void BackwardFromInputs(float[] v, float[] adj, int stride, int u0, int u1, int adjOffset) =>
        (_compiledBackward ??= CompileBackward())(v, adj, stride, u0, u1, adjOffset);

    private HashSet<int> OutputNodes() => [Graph.HiddenOutput, .. Graph.StateOutputs, Graph.ForgetOutput];

    private Action<float[], int, int, int> CompileForward()
    {
        var v = Expression.Parameter(typeof(float[]), "v");
        var stride = Expression.Parameter(typeof(int), "stride");
        var u0 = Expression.Parameter(typeof(int), "u0");
        var u1 = Expression.Parameter(typeof(int), "u1");
        var k = Expression.Variable(typeof(int), "k");
        var values = new ParameterExpression[_ops.Length];
        var body = new List<Expression>();
        EmitForward(body, values, v, stride, k);
        foreach (int i in OutputNodes().Where(i => i >= InputCount).Order())
        {
            body.Add(Expression.Call(W("Store"), values[i], v, Index(i, stride, k)));
        }

        var loop = Loop(k, u0, u1, body, values);
        return Expression.Lambda<Action<float[], int, int, int>>(loop, v, stride, u0, u1).Compile();
    }

    private Action<float[], float[], int, int, int, int> CompileBackward()
    {
        var v = Expression.Parameter(typeof(float[]), "v");
        var adj = Expression.Parameter(typeof(float[]), "adj");
        var stride = Expression.Parameter(typeof(int), "stride");
        var u0 = Expression.Parameter(typeof(int), "u0");
        var u1 = Expression.Parameter(typeof(int), "u1");
        var adjOffset = Expression.Parameter(typeof(int), "adjOffset");
        var k = Expression.Variable(typeof(int), "k");
        int n = _ops.Length;
        var values = new ParameterExpression[n];
        var grads = new ParameterExpression[n];
        for (int i = 0; i < n; i++)
        {
            grads[i] = Expression.Variable(s_v, $"g{i}");
        }

        var body = new List<Expression>();
        EmitForward(body, values, v, stride, k);
        var zero = Splat(0f);
        var outputs = OutputNodes();
        for (int i = 0; i < n; i++)
        {
            // +0 plus the seed, as the interpreter's cleared adjoint plus the seed (keeps the sign of a zero seed the same).
            body.Add(Expression.Assign(grads[i], outputs.Contains(i)
                ? Expression.Add(zero, Expression.Call(W("Load"), adj, Expression.Add(adjOffset, Index(i, stride, k))))
                : zero));
        }

        for (int i = n - 1; i >= InputCount; i--)
        {
            EmitGradient(body, i, values, grads);
        }

        for (int i = 0; i < InputCount; i++)
        {
            body.Add(Expression.Call(W("Store"), grads[i], adj, Expression.Add(adjOffset, Index(i, stride, k))));
        }

        var loop = Loop(k, u0, u1, body, [.. values.Where(x => x is not null), .. grads]);
        return Expression.Lambda<Action<float[], float[], int, int, int, int>>(loop, v, adj, stride, u0, u1, adjOffset).Compile();
    }

    private static BinaryExpression Index(int node, ParameterExpression stride, ParameterExpression k) =>
        Expression.Add(Expression.Multiply(Expression.Constant(node), stride), k);

    private static BlockExpression Loop(ParameterExpression k, ParameterExpression u0, ParameterExpression u1, List<Expression> body, IEnumerable<ParameterExpression> locals)
    {
        var end = Expression.Label("end");
        var step = new List<Expression>
        {
            Expression.IfThen(Expression.GreaterThanOrEqual(k, u1), Expression.Break(end)),
        };
        step.AddRange(body);
        step.Add(Expression.AddAssign(k, Expression.Constant(s_count)));
        return Expression.Block(
            [k],
            Expression.Assign(k, u0),
            Expression.Loop(Expression.Block(locals.Where(x => x is not null).Distinct(), step), end));
    }

    /// <summary>Every node's value into a register-held local: inputs loaded, the rest computed in graph order.</summary>
    private void EmitForward(List<Expression> body, ParameterExpression[] values, ParameterExpression v, ParameterExpression stride, ParameterExpression k)
    {
        for (int i = 0; i < _ops.Length; i++)
        {
            values[i] = Expression.Variable(s_v, $"v{i}");
            Expression value;
            if (i < InputCount)
            {
                value = Expression.Call(W("Load"), v, Index(i, stride, k));
            }
            else
            {
                var a = values[_a[i]];
                var b = values[_b[i]];
                value = _ops[i] switch
                {
                    CellOp.Constant => Splat(_constants[i]),
                    CellOp.Add => Expression.Add(a, b),
                    CellOp.Subtract => Expression.Subtract(a, b),
                    CellOp.Multiply => Expression.Multiply(a, b),
                    CellOp.Divide => Expression.Divide(a, b),
                    CellOp.Negate => Expression.Negate(a),
                    CellOp.Sigmoid => Call(nameof(Wide.Sigmoid), a),
                    CellOp.Tanh => Call(nameof(Wide.Tanh), a),
                    CellOp.Exp => Call(nameof(Wide.Exp), a),
                    CellOp.Log => Call(nameof(Wide.Log), a),
                    CellOp.LogSigmoid => Call(nameof(Wide.LogSigmoid), a),
                    CellOp.Softplus => Call(nameof(Wide.Softplus), a),
                    CellOp.Relu => Call(nameof(Wide.Relu), a),
                    CellOp.Abs => Call(nameof(Wide.Abs), a),
                    CellOp.Sqrt => Call(nameof(Wide.Sqrt), a),
                    CellOp.Max => Expression.Call(W(nameof(Wide.Max)), a, b),
                    CellOp.Min => Expression.Call(W(nameof(Wide.Min)), a, b),
                    CellOp.Where => Expression.Call(W(nameof(Wide.Select)), Expression.Constant(_cmp[i]), a, b, values[_c[i]], values[_d[i]]),
                    _ => a,
                };
            }

            body.Add(Expression.Assign(values[i], value));
        }
    }

    /// <summary>Node i's adjoint into its operands', exactly as <see cref="ApplyBackward"/> / <see cref="WhereBackward"/> do it.</summary>
    private void EmitGradient(List<Expression> body, int i, ParameterExpression[] values, ParameterExpression[] grads)
    {
        var g = grads[i];
        var a = values[_a[i]];
        var b = values[_b[i]];
        var y = values[i];
        var ga = grads[_a[i]];
        var gb = grads[_b[i]];
        void Acc(ParameterExpression target, Expression value) => body.Add(Expression.Assign(target, Expression.Add(target, value)));
        var one = Splat(1f);
        var zero = Splat(0f);
        switch (_ops[i])
        {
            case CellOp.Add:
                Acc(ga, g);
                Acc(gb, g);
                break;
            case CellOp.Subtract:
                Acc(ga, g);
                Acc(gb, Expression.Negate(g));
                break;
            case CellOp.Multiply:
                Acc(ga, Expression.Multiply(g, b));
                Acc(gb, Expression.Multiply(g, a));
                break;
            case CellOp.Divide:
                {
                    var q = Expression.Variable(s_v, $"q{i}");
                    body.Add(Expression.Block([q], Expression.Assign(q, Expression.Divide(g, b)), Expression.Assign(ga, Expression.Add(ga, q)), Expression.Assign(gb, Expression.Add(gb, Expression.Negate(Expression.Multiply(q, y))))));
                    break;
                }

            case CellOp.Negate:
                Acc(ga, Expression.Negate(g));
                break;
            case CellOp.Sigmoid:
                Acc(ga, Expression.Multiply(Expression.Multiply(g, y), Expression.Subtract(one, y)));
                break;
            case CellOp.Tanh:
                Acc(ga, Expression.Multiply(g, Expression.Subtract(one, Expression.Multiply(y, y))));
                break;
            case CellOp.Exp:
                Acc(ga, Expression.Multiply(g, y));
                break;
            case CellOp.Log:
                Acc(ga, Expression.Divide(g, a));
                break;
            case CellOp.LogSigmoid:
                Acc(ga, Expression.Multiply(g, Call(nameof(Wide.Sigmoid), Expression.Negate(a))));
                break;
            case CellOp.Softplus:
                Acc(ga, Expression.Multiply(g, Call(nameof(Wide.Sigmoid), a)));
                break;
            case CellOp.Relu:
                Acc(ga, Expression.Call(W(nameof(Wide.SelectNonNegative)), a, g, zero));
                break;
            case CellOp.Abs:
                Acc(ga, Expression.Call(W(nameof(Wide.SelectNonNegative)), a, g, Expression.Negate(g)));
                break;
            case CellOp.Sqrt:
                Acc(ga, Expression.Divide(g, Expression.Multiply(y, Splat(2f))));
                break;
            case CellOp.Max:
            case CellOp.Min:
                {
                    var cmp = Expression.Constant(_ops[i] == CellOp.Max ? CellComparison.GreaterOrEqual : CellComparison.LessOrEqual);
                    Acc(ga, Expression.Call(W(nameof(Wide.Select)), cmp, a, b, g, zero));
                    Acc(gb, Expression.Call(W(nameof(Wide.Select)), cmp, a, b, zero, g));
                    break;
                }

            case CellOp.Where:
                {
                    var cmp = Expression.Constant(_cmp[i]);
                    Acc(grads[_c[i]], Expression.Call(W(nameof(Wide.Select)), cmp, a, b, g, zero));
                    Acc(grads[_d[i]], Expression.Call(W(nameof(Wide.Select)), cmp, a, b, zero, g));
                    break;
                }

            default:
                break;
        }
    }

    /// <summary>The helper of that name at the compiled width (<see cref="Wide"/> or <see cref="Narrow"/>, same names).</summary>
    private static MethodInfo W(string name) => s_lanes.GetMethod(name, BindingFlags.Public | BindingFlags.Static)!;

    private static MethodCallExpression Call(string name, Expression x) => Expression.Call(W(name), x);

    private static MethodCallExpression Splat(float value) => Expression.Call(W(nameof(Wide.Splat)), Expression.Constant(value));

    /// <summary>
    /// The ops at 16 lanes. Each is the per-lane computation of the interpreter's op (σ, tanh, exp through
    /// <see cref="GateMath"/>; log through the runtime's Vector512.Log, the same algorithm as Vector256.Log per lane).
    /// </summary>
    internal static class Wide
    {
        public static Vector512<float> Load(float[] v, int index) => Vector512.Create(v, index);

        public static void Store(Vector512<float> x, float[] v, int index) => x.CopyTo(v, index);

        public static Vector512<float> Splat(float value) => Vector512.Create(value);

        public static Vector512<float> Sigmoid(Vector512<float> x) => GateMath.Sigmoid(new Lanes512(x)).Value;

        public static Vector512<float> Tanh(Vector512<float> x) => GateMath.Tanh(new Lanes512(x)).Value;

        public static Vector512<float> Exp(Vector512<float> x) => GateMath.Exp(new Lanes512(x)).Value;

        public static Vector512<float> Log(Vector512<float> x) => Vector512.Log(x);

        public static Vector512<float> LogSigmoid(Vector512<float> x) => Vector512.Min(x, Vector512<float>.Zero) - Log1pExpNegAbs(x);

        public static Vector512<float> Softplus(Vector512<float> x) => Vector512.Max(x, Vector512<float>.Zero) + Log1pExpNegAbs(x);

        public static Vector512<float> Relu(Vector512<float> x) => Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(x, Vector512<float>.Zero), x, Vector512<float>.Zero);

        public static Vector512<float> Abs(Vector512<float> x) => Vector512.Abs(x);

        public static Vector512<float> Sqrt(Vector512<float> x) => Vector512.Sqrt(x);

        public static Vector512<float> Max(Vector512<float> x, Vector512<float> w) => Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(x, w), x, w);

        public static Vector512<float> Min(Vector512<float> x, Vector512<float> w) => Vector512.ConditionalSelect(Vector512.LessThanOrEqual(x, w), x, w);

        public static Vector512<float> Select(CellComparison cmp, Vector512<float> l, Vector512<float> r, Vector512<float> x, Vector512<float> z) =>
            Vector512.ConditionalSelect(
                cmp switch
                {
                    CellComparison.GreaterOrEqual => Vector512.GreaterThanOrEqual(l, r),
                    CellComparison.Greater => Vector512.GreaterThan(l, r),
                    CellComparison.LessOrEqual => Vector512.LessThanOrEqual(l, r),
                    _ => Vector512.LessThan(l, r),
                },
                x,
                z);

        public static Vector512<float> SelectNonNegative(Vector512<float> x, Vector512<float> p, Vector512<float> q) =>
            Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(x, Vector512<float>.Zero), p, q);

        private static Vector512<float> Log1pExpNegAbs(Vector512<float> x) => Vector512.Log(Vector512<float>.One + Exp(-Vector512.Abs(x)));
    }

    /// <summary>The ops at 8 lanes: the interpreter's own helpers.</summary>
    internal static class Narrow
    {
        public static Vector256<float> Load(float[] v, int index) => Vector256.Create(v, index);

        public static void Store(Vector256<float> x, float[] v, int index) => x.CopyTo(v, index);

        public static Vector256<float> Splat(float value) => Vector256.Create(value);

        public static Vector256<float> Sigmoid(Vector256<float> x) => CellProgram.Sigmoid(x);

        public static Vector256<float> Tanh(Vector256<float> x) => CellProgram.Tanh(x);

        public static Vector256<float> Exp(Vector256<float> x) => CellProgram.Exp(x);

        public static Vector256<float> Log(Vector256<float> x) => LogOp.Apply(x, x);

        public static Vector256<float> LogSigmoid(Vector256<float> x) => LogSigmoidOp.Apply(x, x);

        public static Vector256<float> Softplus(Vector256<float> x) => SoftplusOp.Apply(x, x);

        public static Vector256<float> Relu(Vector256<float> x) => ReluOp.Apply(x, x);

        public static Vector256<float> Abs(Vector256<float> x) => AbsOp.Apply(x, x);

        public static Vector256<float> Sqrt(Vector256<float> x) => SqrtOp.Apply(x, x);

        public static Vector256<float> Max(Vector256<float> x, Vector256<float> w) => MaxOp.Apply(x, w);

        public static Vector256<float> Min(Vector256<float> x, Vector256<float> w) => MinOp.Apply(x, w);

        public static Vector256<float> Select(CellComparison cmp, Vector256<float> l, Vector256<float> r, Vector256<float> x, Vector256<float> z) =>
            Vector256.ConditionalSelect(Mask(cmp, l, r), x, z);

        public static Vector256<float> SelectNonNegative(Vector256<float> x, Vector256<float> p, Vector256<float> q) =>
            Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(x, Vector256<float>.Zero), p, q);
    }
}
