namespace ForgetGate.Lab.Numerics.Serialization;

/// <summary>One named tensor of a safetensors file: dtype, row-major shape and its elements.</summary>
public sealed class SafetensorsTensor
{
    private readonly Array _data;

    private SafetensorsTensor(string name, SafetensorsDType dtype, int[] shape, Array data)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(shape);
        long count = 1;
        foreach (int d in shape)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(d, nameof(shape));
            count = checked(count * d);
        }

        if (count != data.Length)
        {
            throw new ArgumentException($"Tensor '{name}' has shape [{string.Join(", ", shape)}] ({count} elements) but {data.Length} values.", nameof(data));
        }

        Name = name;
        DType = dtype;
        Shape = shape;
        _data = data;
    }

    /// <summary>Tensor name (key in the header).</summary>
    public string Name { get; }

    /// <summary>Element type.</summary>
    public SafetensorsDType DType { get; }

    /// <summary>Row-major shape; empty for a scalar.</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>Number of elements.</summary>
    public int Length => _data.Length;

    /// <summary>A float32 tensor (the array is used as is, not copied).</summary>
    public static SafetensorsTensor FromFloat32(string name, int[] shape, float[] data) => new(name, SafetensorsDType.F32, shape, data);

    /// <summary>A float64 tensor.</summary>
    public static SafetensorsTensor FromFloat64(string name, int[] shape, double[] data) => new(name, SafetensorsDType.F64, shape, data);

    /// <summary>An int32 tensor.</summary>
    public static SafetensorsTensor FromInt32(string name, int[] shape, int[] data) => new(name, SafetensorsDType.I32, shape, data);

    /// <summary>An int64 tensor.</summary>
    public static SafetensorsTensor FromInt64(string name, int[] shape, long[] data) => new(name, SafetensorsDType.I64, shape, data);

    /// <summary>The elements of an F32 tensor; throws naming the tensor if it has another dtype.</summary>
    public float[] AsFloat32() => _data as float[] ?? throw WrongType("F32");

    /// <summary>The elements of an F64 tensor.</summary>
    public double[] AsFloat64() => _data as double[] ?? throw WrongType("F64");

    /// <summary>Integer elements (I32 or I64, range-checked) as int32, e.g. class labels.</summary>
    public int[] AsInt32()
    {
        if (_data is int[] ints)
        {
            return ints;
        }

        if (_data is long[] longs)
        {
            var result = new int[longs.Length];
            for (int i = 0; i < longs.Length; i++)
            {
                if (longs[i] is < int.MinValue or > int.MaxValue)
                {
                    throw new InvalidDataException($"Tensor '{Name}' element {i} = {longs[i]} does not fit in int32.");
                }

                result[i] = (int)longs[i];
            }

            return result;
        }

        throw WrongType("I32 or I64");
    }

    internal Array RawData => _data;

    internal static SafetensorsTensor Create(string name, SafetensorsDType dtype, int[] shape, Array data) => new(name, dtype, shape, data);

    /// <inheritdoc />
    public override string ToString() => $"{Name} {DType} [{string.Join(", ", Shape)}]";

    private InvalidDataException WrongType(string expected) =>
        new($"Tensor '{Name}' has dtype {DType}; expected {expected}.");
}
