using ForgetGate.Lab.Numerics.Models;

namespace ForgetGate.Lab.Core.Training;

/// <summary>Which optimizer trains the model, with PyTorch's parameter names.</summary>
public sealed record OptimizerOptions(
    string Kind = "adam",
    double LearningRate = 1e-3,
    double Beta1 = 0.9,
    double Beta2 = 0.999,
    double Eps = 1e-8,
    double WeightDecay = 0,
    double Momentum = 0,
    bool Nesterov = false);

/// <summary>The continual-learning strategy and its parameters (DESIGN.md §7).</summary>
public sealed record StrategyOptions(
    string Kind = "naive",
    int BufferSize = 500,
    double ReplayFraction = 0.5,
    double EwcLambda = 100,
    double EwcGamma = 1.0,
    int FisherSamples = 200,
    double LwfAlpha = 1.0,
    double LwfTemperature = 2.0,
    double SiC = 0.1,
    double SiXi = 0.1,
    double MasLambda = 1.0,
    int MemoryPerTask = 256,
    int AgemReferenceBatch = 256,
    double GemMargin = 0.5,
    double DerppAlpha = 0.3,
    double DerppBeta = 0.5);

/// <summary>Everything the run loop needs besides the task sequence, already validated by the spec layer.</summary>
public sealed record ContinualRunOptions(
    Variant Variant,
    int Hidden,
    int Layers,
    int EpochsPerTask,
    int BatchSize,
    OptimizerOptions Optimizer,
    StrategyOptions Strategy,
    ulong Seed,
    double? ClipNorm = null,
    bool EvaluateEveryEpoch = true,
    int CheckpointEveryBatches = 0,
    int Threads = 1,
    int EvaluationBatchSize = 1000,
    int GateProbeSamples = 256,
    string Engine = "managed")
{
    /// <summary>The cell file the run computes instead of <see cref="Variant"/> (DESIGN.md §4b), or null.</summary>
    public Numerics.Cells.CellGraph? Cell { get; init; }

    /// <summary><c>model.init</c>: the parameters' base distribution (<see cref="Numerics.Engines.ParameterInitKind"/>).</summary>
    public Numerics.Engines.ParameterInitKind Init { get; init; }

    /// <summary>The built-in's or the cell's name.</summary>
    public string VariantName => Cell?.Name ?? Variant.Name();

    /// <summary>
    /// The engine object to build the network with instead of looking <see cref="Engine"/> up by name (the worker's
    /// sweep batching, <see cref="Runs.RunContext.Engine"/>); it must compute what <see cref="Engine"/> names.
    /// </summary>
    public Numerics.Engines.IModelEngine? EngineInstance { get; init; }

    /// <summary>
    /// Train a throwaway copy of the network before the run's clock starts (<see cref="KernelWarmup"/>), so the stored
    /// throughput of a process's first run is not JIT warm-up. The worker sets it; results do not depend on it.
    /// </summary>
    public bool WarmKernels { get; init; }
}
