namespace ForgetGate.Lab.Numerics.Models;

/// <summary>Shape of a stacked recurrent network with a linear head: x [B,T,InputSize] → logits [B,Outputs].</summary>
public sealed record RecurrentModelConfig(Variant Variant, int InputSize, int Hidden, int Layers, int Outputs)
{
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
}
