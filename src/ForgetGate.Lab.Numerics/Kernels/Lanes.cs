using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ForgetGate.Lab.Numerics.Kernels;

/// <summary>
/// A vector of float lanes as the cell kernels use it, so that each activation and cell is written once and runs
/// 256 or 512 bits wide (<see cref="Lanes256"/>, <see cref="Lanes512"/>). The JIT specialises generic code for each
/// struct and inlines the members, so this costs nothing at run time. Every operation is lane-wise and the same
/// IEEE operation at either width, so both widths give bit-identical results.
/// </summary>
internal interface ILanes<TSelf>
    where TSelf : struct, ILanes<TSelf>
{
    /// <summary>Lanes per vector.</summary>
    static abstract int Count { get; }

    static abstract TSelf One { get; }

    static abstract TSelf Create(float value);

    static abstract TSelf Load(ref float source, nuint offset);

    static abstract TSelf operator +(TSelf left, TSelf right);

    static abstract TSelf operator -(TSelf left, TSelf right);

    static abstract TSelf operator -(TSelf value);

    static abstract TSelf operator *(TSelf left, TSelf right);

    static abstract TSelf operator /(TSelf left, TSelf right);

    /// <summary>a·b + c with one rounding (the JIT never contracts a*b+c on its own).</summary>
    static abstract TSelf Fma(TSelf a, TSelf b, TSelf c);

    static abstract TSelf Clamp(TSelf value, float min, float max);

    /// <summary>Per lane: <paramref name="ifSmall"/> where |x| &lt; <paramref name="limit"/>, else <paramref name="otherwise"/>.</summary>
    static abstract TSelf WhereAbsBelow(TSelf x, float limit, TSelf ifSmall, TSelf otherwise);

    /// <summary>2^n for t = n + magic (n an integer held in a float, magic = 1.5·2^23), built in the exponent bits.</summary>
    static abstract TSelf Pow2(TSelf t, TSelf magic);

    void Store(ref float destination, nuint offset);
}

/// <summary>Eight float lanes (AVX2, or the runtime's software fallback without hardware intrinsics).</summary>
internal struct Lanes256 : ILanes<Lanes256>
{
    /// <summary>The lanes. A plain field, and values made by <see cref="Of"/> rather than a constructor: property getters and
    /// constructor calls would each be one more inline for the JIT, and a cell's worth of them exhausts its inlining budget.</summary>
    public Vector256<float> Value;

    public Lanes256(Vector256<float> value) => Value = value;

    public static int Count => Vector256<float>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Lanes256 Of(Vector256<float> value)
    {
        Lanes256 lanes;
        lanes.Value = value;
        return lanes;
    }

    public static Lanes256 One => Of(Vector256<float>.One);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Create(float value) => Of(Vector256.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Load(ref float source, nuint offset) => Of(Vector256.LoadUnsafe(ref source, offset));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 operator +(Lanes256 left, Lanes256 right) => Of(left.Value + right.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 operator -(Lanes256 left, Lanes256 right) => Of(left.Value - right.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 operator -(Lanes256 value) => Of(-value.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 operator *(Lanes256 left, Lanes256 right) => Of(left.Value * right.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 operator /(Lanes256 left, Lanes256 right) => Of(left.Value / right.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Fma(Lanes256 a, Lanes256 b, Lanes256 c) => Of(Vector256.FusedMultiplyAdd(a.Value, b.Value, c.Value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Clamp(Lanes256 value, float min, float max) =>
        Of(Vector256.Min(Vector256.Max(value.Value, Vector256.Create(min)), Vector256.Create(max)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 WhereAbsBelow(Lanes256 x, float limit, Lanes256 ifSmall, Lanes256 otherwise) =>
        Of(Vector256.ConditionalSelect(Vector256.LessThan(Vector256.Abs(x.Value), Vector256.Create(limit)), ifSmall.Value, otherwise.Value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256 Pow2(Lanes256 t, Lanes256 magic) =>
        Of(((t.Value.AsInt32() - magic.Value.AsInt32() + Vector256.Create(127)) << 23).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store(ref float destination, nuint offset) => Value.StoreUnsafe(ref destination, offset);
}

/// <summary>Sixteen float lanes (AVX-512; used where <see cref="MatMul.UseWide"/>).</summary>
internal struct Lanes512 : ILanes<Lanes512>
{
    /// <summary>The lanes. A plain field, and values made by <see cref="Of"/> rather than a constructor: property getters and
    /// constructor calls would each be one more inline for the JIT, and a cell's worth of them exhausts its inlining budget.</summary>
    public Vector512<float> Value;

    public Lanes512(Vector512<float> value) => Value = value;

    public static int Count => Vector512<float>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Lanes512 Of(Vector512<float> value)
    {
        Lanes512 lanes;
        lanes.Value = value;
        return lanes;
    }

    public static Lanes512 One => Of(Vector512<float>.One);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Create(float value) => Of(Vector512.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Load(ref float source, nuint offset) => Of(Vector512.LoadUnsafe(ref source, offset));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 operator +(Lanes512 left, Lanes512 right) => Of(left.Value + right.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 operator -(Lanes512 left, Lanes512 right) => Of(left.Value - right.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 operator -(Lanes512 value) => Of(-value.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 operator *(Lanes512 left, Lanes512 right) => Of(left.Value * right.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 operator /(Lanes512 left, Lanes512 right) => Of(left.Value / right.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Fma(Lanes512 a, Lanes512 b, Lanes512 c) => Of(Vector512.FusedMultiplyAdd(a.Value, b.Value, c.Value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Clamp(Lanes512 value, float min, float max) =>
        Of(Vector512.Min(Vector512.Max(value.Value, Vector512.Create(min)), Vector512.Create(max)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 WhereAbsBelow(Lanes512 x, float limit, Lanes512 ifSmall, Lanes512 otherwise) =>
        Of(Vector512.ConditionalSelect(Vector512.LessThan(Vector512.Abs(x.Value), Vector512.Create(limit)), ifSmall.Value, otherwise.Value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512 Pow2(Lanes512 t, Lanes512 magic) =>
        Of(((t.Value.AsInt32() - magic.Value.AsInt32() + Vector512.Create(127)) << 23).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store(ref float destination, nuint offset) => Value.StoreUnsafe(ref destination, offset);
}
