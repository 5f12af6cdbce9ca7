namespace ForgetGate.Lab.Core.Training;

/// <summary>Where a run stands: the next batch to train (all 0-based).</summary>
public readonly record struct RunPosition(int Task, int Epoch, int Batch);

/// <summary>Live progress of a run for displays (task and epoch 1-based).</summary>
public readonly record struct RunProgress(int Task, int TaskCount, int Epoch, int EpochCount, int Batch, int BatchCount, double Loss, double SamplesPerSecond, double Fraction);
