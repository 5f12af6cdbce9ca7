using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Core.Training;
using ForgetGate.Lab.Numerics.Random;

namespace ForgetGate.Lab.Core.Tests.Training;

/// <summary>
/// A small, learnable and forgettable task sequence: Gaussian sequences whose label is the sign of a
/// task-specific projection of the sequence mean. Different projections conflict, so naive training forgets.
/// </summary>
internal sealed class ToyTasks : ITaskSource
{
    private readonly float[][] _trainX;
    private readonly int[][] _trainY;
    private readonly float[][] _testX;
    private readonly int[][] _testY;
    private readonly int[][] _allowed;

    public ToyTasks(int tasks, int trainPerTask, int testPerTask, ulong seed, bool multiHead = false, int steps = 4, int inputSize = 3)
    {
        TaskCount = tasks;
        Steps = steps;
        InputSize = inputSize;
        Outputs = multiHead ? 2 * tasks : 2;
        var rng = new Rng(seed);
        _trainX = new float[tasks][];
        _trainY = new int[tasks][];
        _testX = new float[tasks][];
        _testY = new int[tasks][];
        _allowed = new int[tasks][];
        for (int t = 0; t < tasks; t++)
        {
            var w = new double[inputSize];
            for (int d = 0; d < inputSize; d++)
            {
                w[d] = rng.NextGaussian();
            }

            int offset = multiHead ? 2 * t : 0;
            _allowed[t] = multiHead ? [offset, offset + 1] : [];
            (_trainX[t], _trainY[t]) = Make(trainPerTask, w, offset, rng);
            (_testX[t], _testY[t]) = Make(testPerTask, w, offset, rng);
        }
    }

    public int TaskCount { get; }

    public int Steps { get; }

    public int InputSize { get; }

    public int Outputs { get; }

    public bool IsRegression => false;

    public int Count(int task, DataSplit split) => split == DataSplit.Test ? _testY[task].Length : _trainY[task].Length;

    public ReadOnlySpan<int> AllowedClasses(int task) => _allowed[task];

    public void FillBatch(int task, DataSplit split, ReadOnlySpan<int> indices, Span<float> x, Span<int> labels, Span<float> targets)
    {
        var xs = split == DataSplit.Test ? _testX[task] : _trainX[task];
        var ys = split == DataSplit.Test ? _testY[task] : _trainY[task];
        int sample = Steps * InputSize;
        for (int i = 0; i < indices.Length; i++)
        {
            xs.AsSpan(indices[i] * sample, sample).CopyTo(x.Slice(i * sample, sample));
            labels[i] = ys[indices[i]];
        }
    }

    private (float[] X, int[] Y) Make(int n, double[] w, int offset, Rng rng)
    {
        int sample = Steps * InputSize;
        var x = new float[n * sample];
        var y = new int[n];
        for (int i = 0; i < n; i++)
        {
            double dot = 0;
            for (int s = 0; s < Steps; s++)
            {
                for (int d = 0; d < InputSize; d++)
                {
                    float v = (float)rng.NextGaussian();
                    x[(i * sample) + (s * InputSize) + d] = v;
                    dot += w[d] * v;
                }
            }

            y[i] = offset + (dot > 0 ? 1 : 0);
        }

        return (x, y);
    }
}

/// <summary>Keeps every row in memory, keyed as the store keys them, so duplicates and gaps are visible.</summary>
internal sealed class MemorySink : IRunSink
{
    public Dictionary<(int, int, int, string), double> Evaluations { get; } = [];

    public Dictionary<(int, int, int), double> Curve { get; } = [];

    public List<GateTelemetryRow> Gates { get; } = [];

    public List<GateStepRow> GateSteps { get; } = [];

    public List<CheckpointRecord> Checkpoints { get; } = [];

    public int DuplicateEvaluationWrites { get; private set; }

    public IReadOnlyList<RunSummaryRow>? Summary { get; private set; }

    public Task WriteEvaluationsAsync(IReadOnlyList<EvaluationRow> rows, CancellationToken cancellationToken)
    {
        foreach (var r in rows)
        {
            var key = (r.AfterTask, r.Epoch, r.EvalTask, r.Metric);
            if (Evaluations.ContainsKey(key))
            {
                DuplicateEvaluationWrites++;
            }

            Evaluations[key] = r.Value;
        }

        return Task.CompletedTask;
    }

    public Task WriteTrainingCurveAsync(IReadOnlyList<TrainingCurveRow> rows, CancellationToken cancellationToken)
    {
        foreach (var r in rows)
        {
            Curve[(r.Task, r.Epoch, r.Step)] = r.Loss;
        }

        return Task.CompletedTask;
    }

    public Task WriteGateTelemetryAsync(IReadOnlyList<GateTelemetryRow> rows, CancellationToken cancellationToken)
    {
        Gates.AddRange(rows);
        return Task.CompletedTask;
    }

    public Task WriteGateStepsAsync(IReadOnlyList<GateStepRow> rows, CancellationToken cancellationToken)
    {
        GateSteps.AddRange(rows);
        return Task.CompletedTask;
    }

    public Task RecordCheckpointAsync(CheckpointRecord checkpoint, CancellationToken cancellationToken)
    {
        Checkpoints.Add(checkpoint);
        return Task.CompletedTask;
    }

    public Task ReportProgressAsync(double progress, string? note, CancellationToken cancellationToken) => Task.CompletedTask;

    public string? DatasetFingerprint { get; private set; }

    public Task RecordDatasetFingerprintAsync(string fingerprint, CancellationToken cancellationToken)
    {
        DatasetFingerprint = fingerprint;
        return Task.CompletedTask;
    }

    public Task CompleteAsync(IReadOnlyList<RunSummaryRow> summary, CancellationToken cancellationToken)
    {
        Summary = summary;
        return Task.CompletedTask;
    }

    /// <summary>R[i][j] (accuracy at the last epoch of each task; row 0 the untrained model).</summary>
    public double[,] AccuracyMatrix(int tasks, int epochs)
    {
        var r = new double[tasks + 1, tasks];
        for (int i = 0; i <= tasks; i++)
        {
            for (int j = 0; j < tasks; j++)
            {
                r[i, j] = Evaluations[(i, i == 0 ? 0 : epochs, j, "accuracy")];
            }
        }

        return r;
    }
}
