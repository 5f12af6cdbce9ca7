using System.Diagnostics;
using System.Runtime.InteropServices;
using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Core.Training.Strategies;
using ForgetGate.Lab.Numerics.Engines;
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
/// <remarks>
/// This file is the training loop. Its parts, each readable alone: <see cref="BatchBuffers"/> (pooled batches),
/// <see cref="BatchLoss"/> (the loss and its gradient), <see cref="TaskEvaluator"/> (R and the evaluation rows),
/// <see cref="GateProbe"/> (forget-gate telemetry), <see cref="TrainingTelemetry"/> (curve and progress),
/// <see cref="RunCheckpointer"/> with <see cref="ScoreMatrix"/> (checkpoint state), <see cref="OptimizerFactory"/>
/// and <see cref="StrategyModel"/> (the strategies' extra forward/backward passes).
/// </remarks>
public sealed class ContinualRunner : IDisposable
{
    private readonly ContinualRunOptions _options;
    private readonly ITaskSource _data;
    private readonly IRunSink _sink;
    private readonly ComputePool? _pool;
    private readonly RunClock _clock;
    private readonly IRecurrentNetwork _model;
    private readonly IOptimizer _optimizer;
    private readonly ContinualStrategy _strategy;
    private readonly Rng _dataRng;
    private readonly Rng _strategyRng;

    private readonly BatchBuffers _buffers;
    private readonly ScoreMatrix _scores;
    private readonly TaskEvaluator _evaluator;
    private readonly GateProbe _gateProbe;
    private readonly TrainingTelemetry _telemetry;
    private readonly RunCheckpointer _checkpointer;
    private readonly StrategyModel _strategyModel;
    private readonly List<SampleRef> _batch = [];
    private readonly List<SampleRef> _order = [];

    /// <summary>Builds the model (initialised from the seed), optimizer and strategy for one run.</summary>
    public ContinualRunner(ContinualRunOptions options, ITaskSource data, IRunSink sink, ComputePool? pool = null, IProgress<RunProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(sink);
        _options = options;
        _data = data;
        var timed = new TimedSink(sink);
        _sink = timed;
        _pool = pool;
        var root = new Rng(options.Seed);
        _dataRng = root.Split("data");
        _strategyRng = root.Split("strategy");

        var config = new RecurrentModelConfig(options.Variant, data.InputSize, options.Hidden, options.Layers, data.Outputs) { Cell = options.Cell, Init = options.Init }.Validate();
        // The seam: the runner never knows which engine computes the model (DESIGN.md §11).
        _model = options.EngineInstance?.Create(config, pool ?? ComputePool.SingleThreaded) ?? ModelEngines.Create(options.Engine, config, pool);
        ParameterInit.Initialize(_model, root.Split("init"), data.Steps);
        _optimizer = OptimizerFactory.Create(options.Optimizer, _model.Parameters);
        _strategy = ContinualStrategy.Create(options.Strategy, _model.Parameters);

        // Room for the largest batch: a training batch with a strategy's extra rows, an evaluation batch, or a strategy's own pass.
        int maxBatch = Math.Max(
            Math.Max(options.BatchSize + _strategy.ExtraRows(options.BatchSize), options.EvaluationBatchSize),
            _strategy.ModelRows(options.BatchSize));
        _buffers = new BatchBuffers(data, maxBatch);
        _clock = new RunClock(_buffers, timed);
        _scores = new ScoreMatrix(data.TaskCount);
        _evaluator = new TaskEvaluator(_model, data, _buffers, _scores, options.EpochsPerTask, options.EvaluationBatchSize);
        _gateProbe = new GateProbe(_model, data, _buffers, options.GateProbeSamples, options.Hidden, options.Layers);
        _telemetry = new TrainingTelemetry(_sink, progress, data.TaskCount, options.EpochsPerTask);
        _checkpointer = new RunCheckpointer(_model, _optimizer, _strategy, _scores, options.VariantName);
        _strategyModel = new StrategyModel(_model, data, _buffers);
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
        if (_options.WarmKernels)
        {
            KernelWarmup.EnsureWarm(_options, _model.Config, _data, _pool, cancellationToken);
        }

        var total = Stopwatch.StartNew();
        _clock.Start();
        var start = new RunPosition(0, 0, 0);
        if (resumeFrom is not null)
        {
            start = _checkpointer.Load(resumeFrom);
        }
        else
        {
            await _clock.EvalAsync(async () =>
            {
                await _evaluator.EvaluateAllAsync(_sink, afterTask: 0, epoch: 0, cancellationToken).ConfigureAwait(false);
                await _gateProbe.WriteAsync(_sink, afterTask: 0, epoch: 0, summaries: false, cancellationToken).ConfigureAwait(false);
            }).ConfigureAwait(false);
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
                    int after = task + 1, atEpoch = epoch + 1;
                    await _clock.EvalAsync(async () =>
                    {
                        await _evaluator.EvaluateAllAsync(_sink, after, atEpoch, cancellationToken).ConfigureAwait(false);
                        await _gateProbe.WriteAsync(_sink, after, atEpoch, summaries: last, cancellationToken).ConfigureAwait(false);
                    }).ConfigureAwait(false);
                }
            }

            _strategy.AfterTask(task, _strategyRng, _strategyModel);
            int finished = task + 1;
            // Training only: evaluations and telemetry are timed by the wall clock, not here.
            LastSamplesPerSecond = taskSamples / Math.Max(trainClock.Elapsed.TotalSeconds, 1e-9);
            if (checkpointDirectory is not null)
            {
                string directory = checkpointDirectory;
                await _clock.CheckpointAsync(() => _checkpointer.SaveAsync(_sink, directory, new RunPosition(finished, 0, 0), cancellationToken)).ConfigureAwait(false);
            }
        }

        return new RunOutcome(total.Elapsed, LastSamplesPerSecond, _scores.ToArray()) { Strategy = _strategy.Figures, TimeSplit = _clock.Split() };
    }

    private async Task<long> TrainEpochAsync(int task, int epoch, int firstBatch, string? checkpointDirectory, CancellationToken cancellationToken)
    {
        _strategy.EpochSamples(task, epoch, _data, _dataRng, _order);
        int perBatch = _strategy.CurrentPerBatch(task, _options.BatchSize);
        int batches = (_order.Count + perBatch - 1) / perBatch;
        var clock = Stopwatch.StartNew();
        long samples = 0;
        for (int b = firstBatch; b < batches; b++)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                // Keep what was learned: the curve so far and a checkpoint of this exact position, then stop.
                await _telemetry.FlushCurveAsync(CancellationToken.None).ConfigureAwait(false);
                if (checkpointDirectory is not null)
                {
                    await _checkpointer.SaveAsync(_sink, checkpointDirectory, new RunPosition(task, epoch, b), CancellationToken.None).ConfigureAwait(false);
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
            double loss = TrainStep(task, epoch, b, _batch, count);
            _strategy.AfterBatch(
                task, epoch, b, CollectionsMarshal.AsSpan(_batch)[..count],
                _buffers.Output.AsSpan(0, count * _data.Outputs), _strategyRng);
            samples += _batch.Count;
            double rate = samples / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
            _telemetry.AddCurveRow(task, epoch, b, loss, rate);

            bool periodic = _options.CheckpointEveryBatches > 0 && (b + 1) % _options.CheckpointEveryBatches == 0 && b + 1 < batches;
            if (periodic && checkpointDirectory is not null)
            {
                await _telemetry.FlushCurveAsync(cancellationToken).ConfigureAwait(false);
                var position = new RunPosition(task, epoch, b + 1);
                await _clock.CheckpointAsync(() => _checkpointer.SaveAsync(_sink, checkpointDirectory, position, cancellationToken)).ConfigureAwait(false);
            }

            await _telemetry.AfterBatchAsync(task, epoch, b, batches, loss, rate, cancellationToken).ConfigureAwait(false);
        }

        await _telemetry.FlushCurveAsync(cancellationToken).ConfigureAwait(false);
        return samples;
    }

    /// <summary>One optimizer step on a batch whose first <paramref name="current"/> rows are the epoch's; returns the data loss (without penalty).</summary>
    private double TrainStep(int task, int epoch, int batchIndex, List<SampleRef> batch, int current)
    {
        _strategy.BeforeStep(task, epoch, batchIndex, _strategyRng, _strategyModel);
        int n = batch.Count;
        int outputs = _data.Outputs;
        _buffers.Fill(batch, DataSplit.Train);
        var output = _buffers.Output.AsSpan(0, n * outputs);
        var dOutput = _buffers.DOutput.AsSpan(0, n * outputs);
        var x = _buffers.X.AsSpan(0, n * _buffers.SampleLength);
        try
        {
            _model.Forward(x, n, _data.Steps, output, training: true);
        }
        catch (Numerics.Cells.CellNonFiniteException e)
        {
            // A cell file can overflow or divide by zero where a built-in cannot; fail the run with where, not NaN metrics.
            throw new Runs.NonRetryableRunException(
                string.Create(System.Globalization.CultureInfo.InvariantCulture, $"Training task {task + 1}, epoch {epoch + 1}, batch {batchIndex}: {e.Message}"), e);
        }
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

    /// <inheritdoc />
    public void Dispose() => _model.Dispose();
}

/// <summary>How a run ended: wall time, the last task's training throughput, and R [(T+1) × T] (row 0 untrained).</summary>
public sealed record RunOutcome(TimeSpan WallTime, double TrainSamplesPerSecond, double[,] Scores)
{
    /// <summary>What the strategy holds at the end: buffer or memory samples and bytes of state.</summary>
    public Strategies.StrategyFigures Strategy { get; init; }

    /// <summary>Where this attempt's wall time went (data, training, evaluation, checkpoints, store writes).</summary>
    public RunTimeSplit? TimeSplit { get; init; }
}
