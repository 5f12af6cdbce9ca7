using ForgetGate.Lab.Core.Training;
using ForgetGate.Lab.Core.Training.Strategies;
using ForgetGate.Lab.Numerics.Models;

namespace ForgetGate.Lab.Core.Tests.Training.Strategies;

/// <summary>
/// An <see cref="IStrategyModel"/> over a real <see cref="RecurrentModel"/> and a task source, for testing one rule at a
/// time: predictions and per-sample output gradients run the engine; the task loss is recorded, not computed.
/// </summary>
internal sealed class StrategyTestModel(ITaskSource data, RecurrentModel? model = null) : IStrategyModel
{
    public List<(int From, int Count, float Weight)> TaskLossCalls { get; } = [];

    /// <summary>Overrides <see cref="Predict"/> when set (rows come from here instead of the engine).</summary>
    public Func<SampleRef, float[]>? Outputs { get; init; }

    public IReadOnlyList<Parameter> Parameters => model?.Parameters ?? [];

    public ITaskSource Data => data;

    public int MaxBatch => 7; // small on purpose: callers must chunk

    public void Predict(IReadOnlyList<SampleRef> samples, Span<float> outputs)
    {
        Assert.InRange(samples.Count, 1, MaxBatch);
        int c = data.Outputs;
        for (int i = 0; i < samples.Count; i++)
        {
            var row = Outputs is { } f ? f(samples[i]) : Run(samples[i], training: false);
            row.AsSpan().CopyTo(outputs.Slice(i * c, c));
        }
    }

    public double LossGradient(IReadOnlyList<SampleRef> samples) => throw new NotSupportedException();

    public double TaskLoss(IReadOnlyList<SampleRef> batch, int from, int count, ReadOnlySpan<float> output, Span<float> dOutput, float weight)
    {
        TaskLossCalls.Add((from, count, weight));
        return 0;
    }

    public void OutputGradient(SampleRef sample, OutputGradientRule rule)
    {
        var output = Run(sample, training: true);
        var d = new float[output.Length];
        rule(sample, output, d);
        model!.Backward(d);
    }

    public void AccumulateSquaredGradients(IReadOnlyList<SampleRef> samples, float[][] accumulators) => throw new NotSupportedException();

    /// <summary>f(x) of one training sample.</summary>
    public float[] Run(SampleRef sample, bool training)
    {
        int size = data.Steps * data.InputSize;
        var x = new float[size];
        var labels = new int[1];
        var targets = new float[data.Outputs];
        data.FillBatch(sample.Task, DataSplit.Train, [sample.Index], x, labels, data.IsRegression ? targets : default);
        var output = new float[data.Outputs];
        model!.Forward(x, 1, data.Steps, output, training);
        return output;
    }
}
