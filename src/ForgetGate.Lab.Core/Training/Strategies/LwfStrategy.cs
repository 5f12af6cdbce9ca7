using System.Globalization;

namespace ForgetGate.Lab.Core.Training.Strategies;

/// <summary>
/// Learning without Forgetting (Li &amp; Hoiem 2017). When a task after the first starts, the model as it stands is
/// f_old, and its outputs on every training sample of the new task are recorded once (the paper's Algorithm 1:
/// "record responses y_o"; without augmentation or dropout this is the same as running a frozen copy each step,
/// and it costs one inference pass per task instead of one forward pass per step). Loss = task loss +
/// α·τ²·mean_batch KL(softmax(f_old(x)/τ) ‖ softmax(f(x)/τ)), the softmax over all outputs with one head, and one
/// KL per old task's classes with task-incremental heads; regression: + α·MSE(f(x), f_old(x)) (mean over rows and
/// outputs, as the task's MSE; τ has no meaning there). Defaults α = 1 (the paper's λ_o), τ = 2 (the paper's T).
/// </summary>
internal sealed class LwfStrategy : ContinualStrategy
{
    private readonly double _alpha;
    private readonly double _temperature;
    private float[] _old = [];
    private int _task = -1;
    private int _outputs;

    public LwfStrategy(double alpha, double temperature)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(alpha);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(temperature);
        _alpha = alpha;
        _temperature = temperature;
    }

    public override string Kind => "lwf";

    /// <summary>Outputs of f_old on the current task's training samples, [n, Outputs].</summary>
    internal ReadOnlySpan<float> OldOutputs => _old;

    public override StrategyFigures Figures => new(_outputs == 0 ? 0 : _old.Length / _outputs, (long)_old.Length * sizeof(float), (long)_old.Length * sizeof(float));

    public override void BeforeTask(int task, IStrategyModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (task == 0)
        {
            return;
        }

        int n = model.Data.Count(task, DataSplit.Train);
        _outputs = model.Data.Outputs;
        _old = new float[n * _outputs];
        var refs = new List<SampleRef>(model.MaxBatch);
        for (int from = 0; from < n; from += model.MaxBatch)
        {
            int count = Math.Min(model.MaxBatch, n - from);
            refs.Clear();
            for (int i = 0; i < count; i++)
            {
                refs.Add(new SampleRef(task, from + i));
            }

            model.Predict(refs, _old.AsSpan(from * _outputs, count * _outputs));
        }

        _task = task;
    }

    public override double Loss(int task, IReadOnlyList<SampleRef> batch, int current, ReadOnlySpan<float> output, Span<float> dOutput, IStrategyModel model)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(model);
        double loss = model.TaskLoss(batch, 0, batch.Count, output, dOutput, 1f);
        if (_task != task || _alpha == 0)
        {
            return loss;
        }

        return loss + DistillationLoss(task, batch, output, dOutput, model.Data);
    }

    /// <summary>The distillation term of a batch of the current task's samples, its gradient added to dOutput.</summary>
    internal double DistillationLoss(int task, IReadOnlyList<SampleRef> batch, ReadOnlySpan<float> output, Span<float> dOutput, ITaskSource data)
    {
        int n = batch.Count;
        int c = _outputs;
        double sum = 0;
        if (data.IsRegression)
        {
            double scale = _alpha / ((double)n * c);
            for (int b = 0; b < n; b++)
            {
                sum += Distillation.SquaredError(output.Slice(b * c, c), Old(batch[b], task), dOutput.Slice(b * c, c), scale);
            }

            return scale * sum;
        }

        double klScale = _alpha * _temperature * _temperature / n;
        bool multiHead = !data.AllowedClasses(0).IsEmpty;
        for (int b = 0; b < n; b++)
        {
            var row = output.Slice(b * c, c);
            var old = Old(batch[b], task);
            var dRow = dOutput.Slice(b * c, c);
            if (!multiHead)
            {
                sum += Distillation.SoftKl(row, old, default, _temperature, dRow, klScale);
                continue;
            }

            for (int t = 0; t < task; t++)
            {
                sum += Distillation.SoftKl(row, old, data.AllowedClasses(t), _temperature, dRow, klScale);
            }
        }

        return klScale * sum;
    }

    private ReadOnlySpan<float> Old(SampleRef sample, int task)
    {
        if (sample.Task != task)
        {
            throw new InvalidOperationException($"LwF recorded f_old on task {task}; a batch row of task {sample.Task} has none.");
        }

        return _old.AsSpan(sample.Index * _outputs, _outputs);
    }

    public override void Save(IDictionary<string, float[]> tensors, IDictionary<string, string> metadata)
    {
        metadata["lwf.task"] = _task.ToString(CultureInfo.InvariantCulture);
        metadata["lwf.outputs"] = _outputs.ToString(CultureInfo.InvariantCulture);
        if (_task >= 0)
        {
            tensors["lwf.old_outputs"] = _old;
        }
    }

    public override void Load(IReadOnlyDictionary<string, float[]> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        if (!metadata.TryGetValue("lwf.task", out var taskText) || !metadata.TryGetValue("lwf.outputs", out var outputsText))
        {
            throw new InvalidDataException("Checkpoint lacks LwF's state (metadata 'lwf.task' / 'lwf.outputs').");
        }

        _task = int.Parse(taskText, CultureInfo.InvariantCulture);
        _outputs = int.Parse(outputsText, CultureInfo.InvariantCulture);
        if (_task < 0)
        {
            _old = [];
            return;
        }

        if (!tensors.TryGetValue("lwf.old_outputs", out var old))
        {
            throw new InvalidDataException("Checkpoint lacks LwF's recorded outputs (tensor 'lwf.old_outputs').");
        }

        _old = old.ToArray();
    }
}
