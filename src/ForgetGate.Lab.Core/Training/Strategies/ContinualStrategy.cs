using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Random;

namespace ForgetGate.Lab.Core.Training.Strategies;

/// <summary>
/// What differs between continual-learning strategies (DESIGN.md §7): which samples an epoch visits,
/// what joins each batch, a gradient penalty, and what is kept after a task. The default is naive fine-tuning.
/// Every random choice is drawn from a stream derived from (seed, task, epoch, batch), so a resumed run
/// makes exactly the choices the uninterrupted one made; only state that accumulates is checkpointed.
/// </summary>
internal abstract class ContinualStrategy
{
    public abstract string Kind { get; }

    /// <summary>The samples of one epoch of training task <paramref name="task"/>, in visiting order.</summary>
    public virtual void EpochSamples(int task, int epoch, ITaskSource data, Rng root, List<SampleRef> order)
    {
        order.Clear();
        AddShuffledTask(task, data, order);
        root.Split($"order/{task}/{epoch}").Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(order));
    }

    /// <summary>How many samples of the epoch order go into each batch (the rest of the batch is the strategy's).</summary>
    public virtual int CurrentPerBatch(int task, int batchSize) => batchSize;

    /// <summary>Appends the strategy's own samples (e.g. replay) to a batch that holds the current samples.</summary>
    public virtual void ExtendBatch(int task, int epoch, int batch, int batchSize, Rng root, List<SampleRef> samples)
    {
    }

    /// <summary>Rows a training batch may hold beyond the batch size (the strategy's extra samples).</summary>
    public virtual int ExtraRows(int batchSize) => 0;

    /// <summary>Rows the strategy passes to one <see cref="IStrategyModel"/> call at most.</summary>
    public virtual int ModelRows(int batchSize) => 0;

    /// <summary>Called when a task's training starts from its beginning (never on a resume inside the task).</summary>
    public virtual void BeforeTask(int task, IStrategyModel model)
    {
    }

    /// <summary>Called before each training step's forward pass (reference gradients of A-GEM and GEM).</summary>
    public virtual void BeforeStep(int task, int epoch, int batch, Rng root, IStrategyModel model)
    {
    }

    /// <summary>
    /// The training loss of a batch whose outputs the model has just computed: writes dL/d(output) into
    /// <paramref name="dOutput"/> (cleared by the caller) and returns the data loss. The first <paramref name="current"/>
    /// rows are the epoch's samples. Default: the task loss, mean over every row.
    /// </summary>
    public virtual double Loss(int task, IReadOnlyList<SampleRef> batch, int current, ReadOnlySpan<float> output, Span<float> dOutput, IStrategyModel model)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(model);
        return model.TaskLoss(batch, 0, batch.Count, output, dOutput, 1f);
    }

    /// <summary>Called after each optimizer step with the current-task samples of that batch and their outputs (before the step).</summary>
    public virtual void AfterBatch(int task, int epoch, int batch, ReadOnlySpan<SampleRef> current, ReadOnlySpan<float> currentOutputs, Rng root)
    {
    }

    /// <summary>Changes the gradients after backward and before clipping: adds a penalty's gradient (returning its value) or projects.</summary>
    public virtual double AdjustGradients(IReadOnlyList<Parameter> parameters) => 0;

    /// <summary>Called once a task's training is complete.</summary>
    public virtual void AfterTask(int task, Rng root, IStrategyModel model)
    {
    }

    /// <summary>What the strategy keeps, for the report: samples held (buffer or memory) and bytes of state.</summary>
    public virtual StrategyFigures Figures => new(0, 0, 0);

    /// <summary>Saves accumulated state: float tensors by name plus string metadata.</summary>
    public virtual void Save(IDictionary<string, float[]> tensors, IDictionary<string, string> metadata)
    {
    }

    /// <summary>Restores what <see cref="Save"/> wrote.</summary>
    public virtual void Load(IReadOnlyDictionary<string, float[]> tensors, IReadOnlyDictionary<string, string> metadata)
    {
    }

    protected static void AddShuffledTask(int task, ITaskSource data, List<SampleRef> order)
    {
        int n = data.Count(task, DataSplit.Train);
        for (int i = 0; i < n; i++)
        {
            order.Add(new SampleRef(task, i));
        }
    }

    /// <summary>Every strategy kind, in documentation order.</summary>
    public static IReadOnlyList<string> Kinds { get; } = ["naive", "cumulative", "replay", "ewc", "lwf", "si", "mas", "agem", "gem", "derpp"];

    public static ContinualStrategy Create(StrategyOptions options, IReadOnlyList<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Kind switch
        {
            "naive" => new NaiveStrategy(),
            "cumulative" => new CumulativeStrategy(),
            "replay" => new ReplayStrategy(options.BufferSize, options.ReplayFraction),
            "ewc" => new EwcStrategy(parameters, options.EwcLambda, options.EwcGamma, options.FisherSamples),
            "lwf" => new LwfStrategy(options.LwfAlpha, options.LwfTemperature),
            "si" => new SiStrategy(parameters, options.SiC, options.SiXi),
            "mas" => new MasStrategy(parameters, options.MasLambda),
            "agem" => new AgemStrategy(parameters, options.MemoryPerTask, options.AgemReferenceBatch),
            "gem" => new GemStrategy(parameters, options.MemoryPerTask, options.GemMargin),
            "derpp" => new DerppStrategy(options.BufferSize, options.DerppAlpha, options.DerppBeta),
            _ => throw new ArgumentException($"Unknown strategy '{options.Kind}'; expected one of {string.Join(", ", Kinds)}.", nameof(options)),
        };
    }
}

/// <summary>
/// What a strategy holds at the end of a run, for the report: <paramref name="Samples"/> in its buffer or memory and
/// their <paramref name="MemoryBytes"/> (8-byte references, plus stored outputs where it keeps them; never sample
/// data), <paramref name="StateBytes"/> of everything it keeps (memory, snapshots, importances, running sums), and for
/// A-GEM/GEM the share of steps whose gradient was projected (NaN for the others).
/// </summary>
public readonly record struct StrategyFigures(long Samples, long MemoryBytes, long StateBytes, double ProjectedFraction = double.NaN);

/// <summary>Computes Σ over samples of the squared per-sample loss gradient (the empirical diagonal Fisher, unnormalised).</summary>
internal interface ISquaredGradientSource
{
    /// <summary>Adds g_s ⊙ g_s for every sample s to <paramref name="accumulators"/> (one array per parameter, in parameter order).</summary>
    void AccumulateSquaredGradients(IReadOnlyList<SampleRef> samples, float[][] accumulators);
}

/// <summary>Fine-tuning: train on the current task only.</summary>
internal sealed class NaiveStrategy : ContinualStrategy
{
    public override string Kind => "naive";
}

/// <summary>Joint training on every task seen so far: the upper bound the others are measured against.</summary>
internal sealed class CumulativeStrategy : ContinualStrategy
{
    public override string Kind => "cumulative";

    public override void EpochSamples(int task, int epoch, ITaskSource data, Rng root, List<SampleRef> order)
    {
        order.Clear();
        for (int t = 0; t <= task; t++)
        {
            AddShuffledTask(t, data, order);
        }

        root.Split($"order/{task}/{epoch}").Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(order));
    }
}
