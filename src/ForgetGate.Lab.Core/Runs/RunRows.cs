namespace ForgetGate.Lab.Core.Runs;

/// <summary>One cell of an accuracy (or other metric) matrix: after training <paramref name="AfterTask"/> up to <paramref name="Epoch"/>, evaluated on <paramref name="EvalTask"/>.</summary>
public sealed record EvaluationRow(int AfterTask, int Epoch, int EvalTask, string Metric, double Value);

/// <summary>One point of a training curve.</summary>
public sealed record TrainingCurveRow(int Task, int Epoch, int Step, double Loss, double SamplesPerSecond);

/// <summary>Effective forget-gate statistics of one layer on one task's data; <paramref name="Histogram"/> has 20 bins over [0, 1].</summary>
public sealed record GateTelemetryRow(int AfterTask, int Layer, int EvalTask, double Mean, double FracGt09, double FracLt01, IReadOnlyList<double> Histogram);

/// <summary>A checkpoint file written at (task, epoch, batch) with its SHA-256 (lower-case hex).</summary>
public sealed record CheckpointRecord(int Task, int Epoch, int Batch, string Path, string Sha256);

/// <summary>A summary metric of a run, naming its convention (e.g. "forgetting", "first-minus-last").</summary>
public sealed record RunSummaryRow(string Metric, string Convention, double Value);

/// <summary>
/// The effective forget gate of one layer through time, on one task's probe batch, after training <paramref name="AfterTask"/>
/// tasks up to <paramref name="Epoch"/> (0 = untrained). <paramref name="StepMeans"/>[t] is the mean over probe samples and
/// units at step t; <paramref name="SampleGates"/> is one fixed probe sample's gates as [units, steps] (unit-major);
/// <paramref name="Spread"/> summarises every gate value of the probe batch.
/// </summary>
public sealed record GateStepRow(
    int AfterTask, int Epoch, int Layer, int EvalTask, int ProbeCount, int Steps, int Units,
    IReadOnlyList<double> StepMeans, int SampleIndex, IReadOnlyList<float> SampleGates, GateSpread Spread);

/// <summary>
/// Every gate value of a probe batch: count, min, max, sum, sum of squares, and <paramref name="Counts"/>, 20 bins over
/// [0, 1] (bin i = [i/20, (i+1)/20), the last one closed; values outside [0, 1] fall in the nearest end bin).
/// </summary>
public sealed record GateSpread(long Count, double Min, double Max, double Sum, double SumSquares, IReadOnlyList<long> Counts);
