using ForgetGate.Lab.Numerics.Cells;

namespace ForgetGate.Lab.Numerics.Models;

/// <summary>
/// Shape of a stacked recurrent network with a linear head: x [B,T,InputSize] → logits [B,Outputs]. The cell is the
/// built-in <see cref="Variant"/>, or, when <see cref="Cell"/> is set (<see cref="ForCell"/>), a checked cell file
/// (DESIGN.md §4b); then <see cref="Variant"/> is not used and every engine must compute <see cref="Cell"/>.
/// </summary>
public sealed record RecurrentModelConfig(Variant Variant, int InputSize, int Hidden, int Layers, int Outputs)
{
    /// <summary>A checked cell file computed instead of <see cref="Variant"/>; null for the built-ins.</summary>
    public CellGraph? Cell { get; init; }

    /// <summary>
    /// How <see cref="Engines.ParameterInit"/> draws the parameters (<c>model.init</c>). Not part of equality: it is
    /// where training starts, not the network's shape, so a checkpoint fits a model of either init.
    /// </summary>
    public Engines.ParameterInitKind Init { get; init; }

    /// <summary>The network of a cell file.</summary>
    public static RecurrentModelConfig ForCell(CellGraph cell, int inputSize, int hidden, int layers, int outputs)
    {
        ArgumentNullException.ThrowIfNull(cell);
        return new RecurrentModelConfig(Variant.Lstm, inputSize, hidden, layers, outputs) { Cell = cell };
    }

    /// <summary>The variant's name, or the cell's (what specs, checkpoints and reports call it).</summary>
    public string VariantName => Cell?.Name ?? Variant.Name();

    /// <summary>Gate blocks G: rows of weight_ih are G·H.</summary>
    public int GateCount => Cell?.Blocks.Length ?? Variant.GateCount();

    /// <summary>Blocks with recurrent weights: rows of weight_hh and bias_hh are this times H (0: those tensors are absent).</summary>
    public int RecurrentGateCount => Cell?.RecurrentBlocks.Length ?? Variant.GateCount();

    /// <summary>Throws when a dimension is not positive.</summary>
    public RecurrentModelConfig Validate()
    {
        Check(InputSize, nameof(InputSize));
        Check(Hidden, nameof(Hidden));
        Check(Layers, nameof(Layers));
        Check(Outputs, nameof(Outputs));
        return this;

        static void Check(int value, string name)
        {
            if (value < 1)
            {
                throw new ArgumentOutOfRangeException(name, value, $"{name} must be at least 1.");
            }
        }
    }

    /// <inheritdoc />
    public bool Equals(RecurrentModelConfig? other) =>
        other is not null && Variant == other.Variant && InputSize == other.InputSize && Hidden == other.Hidden && Layers == other.Layers
        && Outputs == other.Outputs && (Cell?.Definition.ToJson() ?? "") == (other.Cell?.Definition.ToJson() ?? "");

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Variant, InputSize, Hidden, Layers, Outputs, Cell?.Name);
}
