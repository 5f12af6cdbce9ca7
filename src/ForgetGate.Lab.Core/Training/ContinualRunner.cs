using System.Diagnostics;
using System.Globalization;
using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Core.Training.Strategies;
using ForgetGate.Lab.Numerics.Engines;
using ForgetGate.Lab.Numerics.Losses;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Optim;
using ForgetGate.Lab.Numerics.Random;
using ForgetGate.Lab.Numerics.Threading;

namespace ForgetGate.Lab.Core.Training;

/// <summary>
/// Trains a recurrent model task after task and evaluates every task after every epoch (DESIGN.md §2, §6).
/// Row 0 of R is the untrained model. Every random choice comes from a stream derived from the seed and
/// the position (task, epoch, batch), and accumulated state (weights, optimizer, strategy) is checkpointed,
/// so a run resumed from any checkpoint produces the same numbers as the run that never stopped.
/// </summary>
public sealed partial class ContinualRunner : IDisposable
{
    private readonly ContinualRunOptions _options;
    private readonly ITaskSource _data;
    private readonly IRunSink _sink;
    private readonly IProgress<RunProgress>? _progress;
    private readonly IRecurrentNetwork _model;
    private readonly IOptimizer _optimizer;
    private readonly ContinualStrategy _strategy;
    private readonly Rng _root;
    private readonly Rng _dataRng;
    private readonly Rng _strategyRng;
    private readonly StrategyModel _strategyModel;

    // Pooled batch buffers: sized once for the largest batch.
    private readonly float[] _x;
    private readonly int[] _labels;
    private readonly float[] _targets;
    private readonly float[] _output;
    private readonly float[] _dOutput;
    private readonly int[] _indices;
    private readonly List<SampleRef> _batch = [];
    private readonly List<SampleRef> _order = [];
    private readonly List<TrainingCurveRow> _curve = [];

    // R[i][j]: score of task j after task i's last epoch (row 0 untrained); carried through checkpoints.
    private readonly double[,] _scores;

    /// <summary>Builds the model (initialised from the seed), optimizer and strategy for one run.</summary>
    public ContinualRunner(ContinualRunOptions options, ITaskSource data, IRunSink sink, ComputePool? pool = null, IProgress<RunProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(sink);
        _options = options;
        _data = data;
        _sink = sink;
        _progress = progress;
        _root = new Rng(options.Seed);
        _dataRng = _root.Split("data");
        _strategyRng = _root.Split("strategy");

        var config = new RecurrentModelConfig(options.Variant, data.InputSize, options.Hidden, options.Layers, data.Outputs).Validate();
        // The seam: the runner never knows which engine computes the model (DESIGN.md §11).
        _model = ModelEngines.Create(options.Engine, config, pool);
        ParameterInit.Initialize(_model, _root.Split("init"), data.Steps);
        _optimizer = CreateOptimizer(options.Optimizer, _model.Parameters);
        _strategy = ContinualStrategy.Create(options.Strategy, _model.Parameters);

        int maxBatch = Math.Max(
            Math.Max(options.BatchSize + _strategy.ExtraRows(options.BatchSize), options.EvaluationBatchSize),
            _strategy.ModelRows(options.BatchSize));
        int sample = data.Steps * data.InputSize;
        _x = new float[maxBatch * sample];
        _labels = new int[maxBatch];
        _targets = new float[maxBatch * data.Outputs];
        _output = new float[maxBatch * data.Outputs];
        _dOutput = new float[maxBatch * data.Outputs];
        _indices = new int[maxBatch];
        _strategyModel = new StrategyModel(this);
        _scores = new double[data.TaskCount + 1, data.TaskCount];
        for (int i = 0; i <= data.TaskCount; i++)
        {
            for (int j = 0; j < data.TaskCount; j++)
            {
                _scores[i, j] = double.NaN;
            }
        }
    }

    /// <summary>The model being trained (for tests and checkpoints).</summary>
    public IRecurrentNetwork Model => _model;

    /// <summary>Training throughput of the last completed task, in samples per second.</summary>
    public double LastSamplesPerSecond { get; private set; }

    /// <summary>
    /// Runs the whole sequence, or what remains of it after <paramref name="resumeFrom"/>. Checkpoints go to
    /// <paramref name="checkpointDirectory"/> after every task (and every N batches when configured); on
    /// cancellation a checkpoint of the current position is written before <see cref="OperationCanceledException"/>.
    /// </summary>
    public async Task<RunOutcome> RunAsync(string? checkpointDirectory, string? resumeFrom, CancellationToken cancellationToken)
    {
        var total = Stopwatch.StartNew();
        var start = new RunPosition(0, 0, 0);
        if (resumeFrom is not null)
        {
            start = LoadCheckpoint(resumeFrom);
        }
        else
        {
            await EvaluateAllAsync(afterTask: 0, epoch: 0, cancellationToken).ConfigureAwait(false);
        }

        int tasks = _data.TaskCount;
        int epochs = _options.EpochsPerTask;
        for (int task = start.Task; task < tasks; task++)
        {
            var trainClock = new Stopwatch();
            long taskSamples = 0;
            int firstEpoch = task == start.Task ? start.Epoch : 0;
            if (task != start.Task || (start.Epoch == 0 && start.Batch == 0))
            {
                _strategy.BeforeTask(task, _strategyModel);
            }

            for (int epoch = firstEpoch; epoch < epochs; epoch++)
            {
                int firstBatch = task == start.Task && epoch == start.Epoch ? start.Batch : 0;
                trainClock.Start();
                taskSamples += await TrainEpochAsync(task, epoch, firstBatch, checkpointDirectory, cancellationToken).ConfigureAwait(false);
                trainClock.Stop();
                bool last = epoch == epochs - 1;
                if (last || _options.EvaluateEveryEpoch)
                {
                    await EvaluateAllAsync(task + 1, epoch + 1, cancellationToken).ConfigureAwait(false);
                }
            }

            _strategy.AfterTask(task, _strategyRng, _strategyModel);
            await WriteGateTelemetryAsync(task + 1, cancellationToken).ConfigureAwait(false);
            // Training only: evaluations and telemetry are timed by the wall clock, not here.
            LastSamplesPerSecond = taskSamples / Math.Max(trainClock.Elapsed.TotalSeconds, 1e-9);
            if (checkpointDirectory is not null)
            {
                await SaveCheckpointAsync(checkpointDirectory, new RunPosition(task + 1, 0, 0), cancellationToken).ConfigureAwait(false);
            }
        }

        return new RunOutcome(total.Elapsed, LastSamplesPerSecond, (double[,])_scores.Clone()) { Strategy = _strategy.Figures };
    }

    private async Task<long> TrainEpochAsync(int task, int epoch, int firstBatch, string? checkpointDirectory, CancellationToken cancellationToken)
    {
        _strategy.EpochSamples(task, epoch, _data, _dataRng, _order);
        int perBatch = _strategy.CurrentPerBatch(task, _options.BatchSize);
        int batches = (_order.Count + perBatch - 1) / perBatch;
        var clock = Stopwatch.StartNew();
        long samples = 0;
        double lastLoss = double.NaN;
        for (int b = firstBatch; b < batches; b++)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                await FlushCurveAsync(CancellationToken.None).ConfigureAwait(false);
                if (checkpointDirectory is not null)
                {
                    await SaveCheckpointAsync(checkpointDirectory, new RunPosition(task, epoch, b), CancellationToken.None).ConfigureAwait(false);
                }

                cancellationToken.ThrowIfCancellationRequested();
            }

            int from = b * perBatch;
            int count = Math.Min(perBatch, _order.Count - from);
            _batch.Clear();
            for (int i = 0; i < count; i++)
            {
                _batch.Add(_order[from + i]);
            }

            _strategy.ExtendBatch(task, epoch, b, _options.BatchSize, _strategyRng, _batch);
            lastLoss = TrainStep(task, epoch, b, _batch, count);
            _strategy.AfterBatch(
                task, epoch, b, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_batch)[..count],
                _output.AsSpan(0, count * _data.Outputs), _strategyRng);
            samples += _batch.Count;
            _curve.Add(new TrainingCurveRow(task + 1, epoch + 1, b, lastLoss, samples / Math.Max(clock.Elapsed.TotalSeconds, 1e-9)));

            bool periodic = _options.CheckpointEveryBatches > 0 && (b + 1) % _options.CheckpointEveryBatches == 0 && b + 1 < batches;
            if (periodic && checkpointDirectory is not null)
            {
                await FlushCurveAsync(cancellationToken).ConfigureAwait(false);
                await SaveCheckpointAsync(checkpointDirectory, new RunPosition(task, epoch, b + 1), cancellationToken).ConfigureAwait(false);
            }

            if ((b & 7) == 7 || b == batches - 1)
            {
                double rate = samples / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
                double fraction = ((task * (double)_options.EpochsPerTask) + epoch + ((b + 1.0) / batches)) / (_data.TaskCount * (double)_options.EpochsPerTask);
                var progress = new RunProgress(task + 1, _data.TaskCount, epoch + 1, _options.EpochsPerTask, b + 1, batches, lastLoss, rate, fraction);
                _progress?.Report(progress);
                if ((b & 63) == 63 || b == batches - 1)
                {
                    string note = string.Create(CultureInfo.InvariantCulture, $"task {task + 1}/{_data.TaskCount} epoch {epoch + 1}/{_options.EpochsPerTask} batch {b + 1}/{batches} loss {lastLoss:F4} {rate:F0} samples/s");
                    await _sink.ReportProgressAsync(fraction, note, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        await FlushCurveAsync(cancellationToken).ConfigureAwait(false);
        return samples;
    }

    /// <summary>One optimizer step on a batch whose first <paramref name="current"/> rows are the epoch's; returns the data loss (without penalty).</summary>
    private double TrainStep(int task, int epoch, int batchIndex, List<SampleRef> batch, int current)
    {
        _strategy.BeforeStep(task, epoch, batchIndex, _strategyRng, _strategyModel);
        int n = batch.Count;
        int outputs = _data.Outputs;
        FillBatch(batch, DataSplit.Train);
        var output = _output.AsSpan(0, n * outputs);
        var dOutput = _dOutput.AsSpan(0, n * outputs);
        var x = _x.AsSpan(0, n * _data.Steps * _data.InputSize);
        _model.Forward(x, n, _data.Steps, output, training: true);
        dOutput.Clear();
        double loss = _strategy.Loss(task, batch, current, output, dOutput, _strategyModel);
        _model.Backward(dOutput);
        _strategy.AdjustGradients(_model.Parameters);
        if (_options.ClipNorm is double clip)
        {
            GradientClipping.ClipGlobalNorm(_model.Parameters, (float)clip);
        }

        _optimizer.Step();
        return loss;
    }

    /// <summary>Mean loss over the batch and its gradient; task-incremental heads restrict each task's softmax to its classes.</summary>
    private double ComputeLoss(IReadOnlyList<SampleRef> batch, ReadOnlySpan<float> output, Span<float> dOutput) =>
        ComputeLoss(batch, 0, batch.Count, output, dOutput, 1f);

    /// <summary>
    /// Mean loss over rows [from, from + count) of the filled batch times <paramref name="scale"/>; its gradient
    /// (also times <paramref name="scale"/>) is written over those rows of <paramref name="dOutputAll"/>.
    /// </summary>
    private double ComputeLoss(IReadOnlyList<SampleRef> batch, int from, int count, ReadOnlySpan<float> outputAll, Span<float> dOutputAll, float scale)
    {
        int n = count;
        int outputs = _data.Outputs;
        var output = outputAll.Slice(from * outputs, n * outputs);
        var dOutput = dOutputAll.Slice(from * outputs, n * outputs);
        if (_data.IsRegression)
        {
            double mse = Losses.MeanSquaredError(output, _targets.AsSpan(from * outputs, n * outputs), dOutput);
            Scale(dOutput, scale);
            return mse * scale;
        }

        double loss = 0;
        int start = 0;
        while (start < n)
        {
            int task = batch[from + start].Task;
            int end = start + 1;
            var allowed = _data.AllowedClasses(task);
            if (!allowed.IsEmpty)
            {
                while (end < n && batch[from + end].Task == task)
                {
                    end++;
                }
            }
            else
            {
                end = n; // one softmax over every class: no need to split by task
            }

            int rows = end - start;
            double part = Losses.SoftmaxCrossEntropy(
                output.Slice(start * outputs, rows * outputs), _labels.AsSpan(from + start, rows), rows, outputs,
                dOutput.Slice(start * outputs, rows * outputs), allowed);
            float weight = rows / (float)n;
            if (rows != n)
            {
                Scale(dOutput.Slice(start * outputs, rows * outputs), weight);
            }

            loss += part * weight;
            start = end;
        }

        Scale(dOutput, scale);
        return loss * scale;
    }

    private static void Scale(Span<float> values, float scale)
    {
        if (scale == 1f)
        {
            return;
        }

        for (int i = 0; i < values.Length; i++)
        {
            values[i] *= scale;
        }
    }

    /// <summary>Assembles x and labels/targets for samples that may come from several tasks (runs of one task are filled together).</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1859", Justification = "Strategies pass memories and reference batches as arrays and read-only lists.")]
    private void FillBatch(IReadOnlyList<SampleRef> batch, DataSplit split)
    {
        int sample = _data.Steps * _data.InputSize;
        int outputs = _data.Outputs;
        int start = 0;
        while (start < batch.Count)
        {
            int task = batch[start].Task;
            int end = start;
            while (end < batch.Count && batch[end].Task == task)
            {
                _indices[end - start] = batch[end].Index;
                end++;
            }

            int rows = end - start;
            _data.FillBatch(
                task, split, _indices.AsSpan(0, rows),
                _x.AsSpan(start * sample, rows * sample),
                _labels.AsSpan(start, rows),
                _data.IsRegression ? _targets.AsSpan(start * outputs, rows * outputs) : default);
            start = end;
        }
    }

    private async Task EvaluateAllAsync(int afterTask, int epoch, CancellationToken cancellationToken)
    {
        var rows = new List<EvaluationRow>(_data.TaskCount * 3);
        for (int task = 0; task < _data.TaskCount; task++)
        {
            var (score, loss) = Evaluate(task);
            if (epoch == 0 || epoch == _options.EpochsPerTask)
            {
                _scores[afterTask, task] = score;
            }

            if (_data.IsRegression)
            {
                rows.Add(new EvaluationRow(afterTask, epoch, task, "mse", loss));
                rows.Add(new EvaluationRow(afterTask, epoch, task, "score", -loss));
            }
            else
            {
                rows.Add(new EvaluationRow(afterTask, epoch, task, "accuracy", score));
                rows.Add(new EvaluationRow(afterTask, epoch, task, "loss", loss));
            }
        }

        await _sink.WriteEvaluationsAsync(rows, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Accuracy and mean cross-entropy (classification) or MSE (regression) on a task's whole test set.</summary>
    internal (double Score, double Loss) Evaluate(int task)
    {
        int total = _data.Count(task, DataSplit.Test);
        int outputs = _data.Outputs;
        int sample = _data.Steps * _data.InputSize;
        var allowed = _data.AllowedClasses(task);
        long correct = 0;
        double lossSum = 0;
        for (int from = 0; from < total; from += _options.EvaluationBatchSize)
        {
            int n = Math.Min(_options.EvaluationBatchSize, total - from);
            for (int i = 0; i < n; i++)
            {
                _indices[i] = from + i;
            }

            _data.FillBatch(task, DataSplit.Test, _indices.AsSpan(0, n), _x.AsSpan(0, n * sample), _labels.AsSpan(0, n),
                _data.IsRegression ? _targets.AsSpan(0, n * outputs) : default);
            var output = _output.AsSpan(0, n * outputs);
            _model.Forward(_x.AsSpan(0, n * sample), n, _data.Steps, output, training: false);
            if (_data.IsRegression)
            {
                lossSum += Losses.MeanSquaredError(output, _targets.AsSpan(0, n * outputs), _dOutput.AsSpan(0, n * outputs)) * n;
                continue;
            }

            lossSum += Losses.SoftmaxCrossEntropy(output, _labels.AsSpan(0, n), n, outputs, _dOutput.AsSpan(0, n * outputs), allowed) * n;
            for (int i = 0; i < n; i++)
            {
                if (ArgMax(output.Slice(i * outputs, outputs), allowed) == _labels[i])
                {
                    correct++;
                }
            }
        }

        double meanLoss = total == 0 ? double.NaN : lossSum / total;
        return (_data.IsRegression ? -meanLoss : correct / (double)Math.Max(total, 1), meanLoss);
    }

    private static int ArgMax(ReadOnlySpan<float> row, ReadOnlySpan<int> allowed)
    {
        int best = -1;
        float bestValue = float.NegativeInfinity;
        if (allowed.IsEmpty)
        {
            for (int c = 0; c < row.Length; c++)
            {
                if (row[c] > bestValue || best < 0)
                {
                    best = c;
                    bestValue = row[c];
                }
            }

            return best;
        }

        foreach (int c in allowed)
        {
            if (row[c] > bestValue || best < 0)
            {
                best = c;
                bestValue = row[c];
            }
        }

        return best;
    }

    /// <summary>Effective forget gate on a fixed probe batch (the first test samples) of every task, per layer.</summary>
    private async Task WriteGateTelemetryAsync(int afterTask, CancellationToken cancellationToken)
    {
        var rows = new List<GateTelemetryRow>();
        int sample = _data.Steps * _data.InputSize;
        for (int task = 0; task < _data.TaskCount; task++)
        {
            int n = Math.Min(Math.Min(_options.GateProbeSamples, _data.Count(task, DataSplit.Test)), _indices.Length);
            if (n == 0)
            {
                continue;
            }

            for (int i = 0; i < n; i++)
            {
                _indices[i] = i;
            }

            _data.FillBatch(task, DataSplit.Test, _indices.AsSpan(0, n), _x.AsSpan(0, n * sample), _labels.AsSpan(0, n),
                _data.IsRegression ? _targets.AsSpan(0, n * _data.Outputs) : default);
            _model.Forward(_x.AsSpan(0, n * sample), n, _data.Steps, _output.AsSpan(0, n * _data.Outputs), training: true);
            var gates = new float[_data.Steps * n * _options.Hidden];
            for (int layer = 0; layer < _options.Layers; layer++)
            {
                int written = _model.CopyForgetGates(layer, gates);
                rows.Add(GateStatistics.Summarise(afterTask, layer, task, gates.AsSpan(0, written)));
            }
        }

        await _sink.WriteGateTelemetryAsync(rows, cancellationToken).ConfigureAwait(false);
    }

    private async Task FlushCurveAsync(CancellationToken cancellationToken)
    {
        if (_curve.Count == 0)
        {
            return;
        }

        await _sink.WriteTrainingCurveAsync(_curve.ToArray(), cancellationToken).ConfigureAwait(false);
        _curve.Clear();
    }

    private async Task SaveCheckpointAsync(string directory, RunPosition position, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"t{position.Task:D3}-e{position.Epoch:D3}-b{position.Batch:D5}.safetensors"));
        var state = new RunCheckpointState(position);
        foreach (var p in _model.Parameters)
        {
            state.Tensors[p.Name] = p.Value;
        }

        var optimizerState = _optimizer.GetState();
        state.Metadata["optim.kind"] = optimizerState.Kind;
        state.Metadata["optim.step"] = optimizerState.Step.ToString(CultureInfo.InvariantCulture);
        foreach (var (key, buffer) in optimizerState.Buffers)
        {
            state.Tensors["optim." + key] = buffer;
        }

        _strategy.Save(state.Tensors, state.Metadata);
        state.Metadata["strategy"] = _strategy.Kind;
        state.Metadata["scores"] = string.Join(' ', _scores.Cast<double>().Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
        state.Metadata["variant"] = _options.Variant.Name();
        string sha = RunCheckpointFile.Write(path, state);
        await _sink.RecordCheckpointAsync(new CheckpointRecord(position.Task, position.Epoch, position.Batch, path, sha), cancellationToken).ConfigureAwait(false);
    }

    private RunPosition LoadCheckpoint(string path)
    {
        var state = RunCheckpointFile.Read(path);
        if (state.Metadata.TryGetValue("variant", out var v) && v != _options.Variant.Name())
        {
            throw new InvalidDataException($"Checkpoint '{path}' is for variant '{v}', but this run is '{_options.Variant.Name()}'.");
        }

        foreach (var p in _model.Parameters)
        {
            if (!state.Tensors.TryGetValue(p.Name, out var value) || value.Length != p.Length)
            {
                throw new InvalidDataException($"Checkpoint '{path}' lacks parameter '{p.Name}' with {p.Length} values.");
            }

            value.AsSpan().CopyTo(p.Value);
        }

        if (!state.Metadata.TryGetValue("optim.kind", out var kind) || !state.Metadata.TryGetValue("optim.step", out var step))
        {
            throw new InvalidDataException($"Checkpoint '{path}' lacks the optimizer state (metadata 'optim.kind' / 'optim.step').");
        }

        var buffers = state.Tensors.Where(t => t.Key.StartsWith("optim.", StringComparison.Ordinal))
            .ToDictionary(t => t.Key["optim.".Length..], t => t.Value, StringComparer.Ordinal);
        _optimizer.SetState(new OptimizerState(kind, long.Parse(step, CultureInfo.InvariantCulture), buffers));
        _strategy.Load(state.Tensors, state.Metadata);
        var scores = state.Metadata.TryGetValue("scores", out var text) ? text.Split(' ') : [];
        if (scores.Length != _scores.Length)
        {
            throw new InvalidDataException($"Checkpoint '{path}' holds {scores.Length} scores; this run has {_scores.Length} (tasks do not match).");
        }

        for (int k = 0; k < scores.Length; k++)
        {
            _scores[k / _data.TaskCount, k % _data.TaskCount] = double.Parse(scores[k], CultureInfo.InvariantCulture);
        }

        return state.Position;
    }

    private static IOptimizer CreateOptimizer(OptimizerOptions o, IReadOnlyList<Parameter> parameters) => o.Kind switch
    {
        "adam" => new Adam(parameters, (float)o.LearningRate, (float)o.Beta1, (float)o.Beta2, (float)o.Eps, (float)o.WeightDecay),
        "sgd" => new Sgd(parameters, (float)o.LearningRate, (float)o.Momentum, 0f, (float)o.WeightDecay, o.Nesterov),
        _ => throw new ArgumentException($"Unknown optimizer '{o.Kind}'; expected adam or sgd.", nameof(o)),
    };

    /// <inheritdoc />
    public void Dispose() => _model.Dispose();
}

/// <summary>How a run ended: wall time, the last task's training throughput, and R [(T+1) × T] (row 0 untrained).</summary>
public sealed record RunOutcome(TimeSpan WallTime, double TrainSamplesPerSecond, double[,] Scores)
{
    /// <summary>What the strategy holds at the end: buffer or memory samples and bytes of state.</summary>
    public Strategies.StrategyFigures Strategy { get; init; }
}
