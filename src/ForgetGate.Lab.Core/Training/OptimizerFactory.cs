using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Optim;

namespace ForgetGate.Lab.Core.Training;

/// <summary>Builds the optimizer a run's options name over the model's parameters.</summary>
internal static class OptimizerFactory
{
    public static IOptimizer Create(OptimizerOptions o, IReadOnlyList<Parameter> parameters) => o.Kind switch
    {
        "adam" => new Adam(parameters, (float)o.LearningRate, (float)o.Beta1, (float)o.Beta2, (float)o.Eps, (float)o.WeightDecay),
        "sgd" => new Sgd(parameters, (float)o.LearningRate, (float)o.Momentum, 0f, (float)o.WeightDecay, o.Nesterov),
        _ => throw new ArgumentException($"Unknown optimizer '{o.Kind}'; expected adam or sgd.", nameof(o)),
    };
}
