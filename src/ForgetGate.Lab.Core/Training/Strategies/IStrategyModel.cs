using ForgetGate.Lab.Numerics.Models;

namespace ForgetGate.Lab.Core.Training.Strategies;

/// <summary>Writes dL/d(output) of one row given that row's output (e.g. MAS: 2·f(x) for L = ‖f(x)‖²).</summary>
internal delegate void OutputGradientRule(SampleRef sample, ReadOnlySpan<float> output, Span<float> dOutput);

/// <summary>
/// What a strategy may ask of the model and data besides the training step itself: extra forward and backward
/// passes on samples it names (memories, reference batches, per-sample importances). Each call overwrites the
/// model's activations and parameter gradients, so strategies call it only outside the training step's
/// forward → backward span (before it, or after the optimizer step).
/// </summary>
internal interface IStrategyModel : ISquaredGradientSource
{
    /// <summary>The trainable parameters (values and, after a backward pass, gradients), in a fixed order.</summary>
    IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>The task sequence (sizes, allowed classes, whether targets are real values).</summary>
    ITaskSource Data { get; }

    /// <summary>The most samples one call may pass.</summary>
    int MaxBatch { get; }

    /// <summary>Inference outputs [n, Outputs] of training-split samples (n ≤ <see cref="MaxBatch"/>).</summary>
    void Predict(IReadOnlyList<SampleRef> samples, Span<float> outputs);

    /// <summary>Mean task loss over training-split samples; its gradient overwrites every parameter's gradient.</summary>
    double LossGradient(IReadOnlyList<SampleRef> samples);

    /// <summary>
    /// Task loss (cross-entropy or MSE, as the runner trains) of rows [from, from + count) of the batch the model
    /// last ran forward on: mean over those rows times <paramref name="weight"/>, its gradient added to dOutput.
    /// </summary>
    double TaskLoss(IReadOnlyList<SampleRef> batch, int from, int count, ReadOnlySpan<float> output, Span<float> dOutput, float weight);

    /// <summary>Forward (training mode) and backward of one training-split sample with dOutput from <paramref name="rule"/>; gradients overwrite.</summary>
    void OutputGradient(SampleRef sample, OutputGradientRule rule);
}
