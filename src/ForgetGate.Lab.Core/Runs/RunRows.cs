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
