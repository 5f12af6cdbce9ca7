namespace ForgetGate.Lab.Core.Training;

/// <summary>
/// The run's pooled batch buffers, sized once for the largest batch (training or evaluation), and their filling
/// from the task source. The training loop, the evaluator, the gate probe and the strategies' extra passes (<see cref="StrategyModel"/>) share one set:
/// they never run at the same time, and sharing keeps a run's memory what it was before the runner was split.
/// </summary>
internal sealed class BatchBuffers
{
    private readonly ITaskSource _data;

    public BatchBuffers(ITaskSource data, int maxBatch)
    {
        _data = data;
        int sample = data.Steps * data.InputSize;
        X = new float[maxBatch * sample];
        Labels = new int[maxBatch];
        Targets = new float[maxBatch * data.Outputs];
        Output = new float[maxBatch * data.Outputs];
        DOutput = new float[maxBatch * data.Outputs];
        Indices = new int[maxBatch];
    }

    /// <summary>Inputs [n, Steps, InputSize].</summary>
    public float[] X { get; }

    /// <summary>Class labels [n] (classification).</summary>
    public int[] Labels { get; }

    /// <summary>Target values [n, Outputs] (regression).</summary>
    public float[] Targets { get; }

    /// <summary>Model outputs [n, Outputs].</summary>
    public float[] Output { get; }

    /// <summary>Loss gradient with respect to the outputs [n, Outputs]; evaluation uses it as scratch.</summary>
    public float[] DOutput { get; }

    /// <summary>Sample indices of one task's run inside a batch.</summary>
    public int[] Indices { get; }

    /// <summary>Time spent assembling batches (data preparation: subsets, permutations, rotations), for the run's time split.</summary>
    public long FillTicks { get; private set; }

    /// <summary>Values per sample in <see cref="X"/>.</summary>
    public int SampleLength => _data.Steps * _data.InputSize;

    /// <summary>Assembles x and labels/targets for samples that may come from several tasks (runs of one task are filled together).</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1859", Justification = "Strategies pass memories and reference batches as arrays and read-only lists.")]
    public void Fill(IReadOnlyList<SampleRef> batch, DataSplit split)
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        int sample = SampleLength;
        int outputs = _data.Outputs;
        int start = 0;
        while (start < batch.Count)
        {
            int task = batch[start].Task;
            int end = start;
            while (end < batch.Count && batch[end].Task == task)
            {
                Indices[end - start] = batch[end].Index;
                end++;
            }

            int rows = end - start;
            _data.FillBatch(
                task, split, Indices.AsSpan(0, rows),
                X.AsSpan(start * sample, rows * sample),
                Labels.AsSpan(start, rows),
                _data.IsRegression ? Targets.AsSpan(start * outputs, rows * outputs) : default);
            start = end;
        }

        FillTicks += System.Diagnostics.Stopwatch.GetTimestamp() - started;
    }

    /// <summary>Fills the first <paramref name="n"/> rows with the consecutive samples <paramref name="from"/>.. of one task's split.</summary>
    public void FillRange(int task, DataSplit split, int from, int n)
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        for (int i = 0; i < n; i++)
        {
            Indices[i] = from + i;
        }

        _data.FillBatch(task, split, Indices.AsSpan(0, n), X.AsSpan(0, n * SampleLength), Labels.AsSpan(0, n),
            _data.IsRegression ? Targets.AsSpan(0, n * _data.Outputs) : default);
        FillTicks += System.Diagnostics.Stopwatch.GetTimestamp() - started;
    }
}
