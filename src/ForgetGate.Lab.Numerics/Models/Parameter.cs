namespace ForgetGate.Lab.Numerics.Models;

/// <summary>A named trainable tensor (PyTorch state_dict name and shape) with its gradient.</summary>
public sealed class Parameter
{
    /// <summary>Creates a zero-filled parameter.</summary>
    public Parameter(string name, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        Name = name;
        Shape = shape;
        int length = 1;
        foreach (int d in shape)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(d, nameof(shape));
            length = checked(length * d);
        }

        Value = new float[length];
        Gradient = new float[length];
    }

    /// <summary>PyTorch state_dict name, e.g. <c>rnn.weight_ih_l0</c>.</summary>
    public string Name { get; }

    /// <summary>Row-major shape.</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>Current values, row-major.</summary>
    public float[] Value { get; }

    /// <summary>Gradient of the loss with respect to <see cref="Value"/> from the last backward pass.</summary>
    public float[] Gradient { get; }

    /// <summary>Number of elements.</summary>
    public int Length => Value.Length;

    /// <inheritdoc />
    public override string ToString() => $"{Name} [{string.Join(", ", Shape)}]";
}
