namespace ForgetGate.Lab.Gpu;

/// <summary>
/// One run's optimizer hyper-parameters, with torch.optim's names and defaults (Adam reads the betas and eps; SGD
/// reads momentum, dampening and nesterov; both read weight decay as an L2 term added to the gradient).
/// </summary>
public sealed record OptimizerSettings(
    float LearningRate,
    float Beta1 = 0.9f,
    float Beta2 = 0.999f,
    float Eps = 1e-8f,
    float WeightDecay = 0f,
    float Momentum = 0f,
    float Dampening = 0f,
    bool Nesterov = false)
{
    /// <summary>Throws naming the first value out of range.</summary>
    public void Validate()
    {
        if (!(LearningRate >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "Learning rate must be >= 0.");
        }

        if (!(Beta1 >= 0 && Beta1 < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(Beta1), Beta1, "beta1 must be in [0, 1).");
        }

        if (!(Beta2 >= 0 && Beta2 < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(Beta2), Beta2, "beta2 must be in [0, 1).");
        }

        if (!(Eps >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(Eps), Eps, "eps must be >= 0.");
        }

        if (!(WeightDecay >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "weight decay must be >= 0.");
        }

        if (!(Momentum >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(Momentum), Momentum, "momentum must be >= 0.");
        }

        if (Nesterov && (Momentum <= 0 || Dampening != 0))
        {
            throw new ArgumentException("Nesterov momentum requires a momentum > 0 and zero dampening (as torch.optim.SGD).");
        }
    }
}
