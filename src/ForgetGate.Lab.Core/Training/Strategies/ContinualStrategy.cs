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

    /// <summary>Called after each optimizer step with the current-task samples of that batch.</summary>
    public virtual void AfterBatch(int task, int epoch, int batch, ReadOnlySpan<SampleRef> current, Rng root)
    {
    }

    /// <summary>Adds the penalty's gradient to the parameters' gradients and returns the penalty value.</summary>
    public virtual double AddPenaltyGradients(IReadOnlyList<Parameter> parameters) => 0;

    /// <summary>Called once a task's training is complete.</summary>
    public virtual void AfterTask(int task, ITaskSource data, Rng root, ISquaredGradientSource gradients)
    {
    }

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

    public static ContinualStrategy Create(StrategyOptions options, IReadOnlyList<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Kind switch
        {
            "naive" => new NaiveStrategy(),
            "cumulative" => new CumulativeStrategy(),
            "replay" => new ReplayStrategy(options.BufferSize, options.ReplayFraction),
            "ewc" => new EwcStrategy(parameters, options.EwcLambda, options.EwcGamma, options.FisherSamples),
            _ => throw new ArgumentException($"Unknown strategy '{options.Kind}'; expected naive, cumulative, replay or ewc.", nameof(options)),
        };
    }
}

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
