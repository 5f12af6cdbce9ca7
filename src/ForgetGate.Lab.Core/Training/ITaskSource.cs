namespace ForgetGate.Lab.Core.Training;

/// <summary>Which part of a task's data a batch comes from.</summary>
public enum DataSplit
{
    /// <summary>Training samples.</summary>
    Train,

    /// <summary>Held-out test samples (evaluation after every task).</summary>
    Test,

    /// <summary>Validation samples carved from the training data (model selection).</summary>
    Validation,
}

/// <summary>The task sequence as the run loop sees it: sizes per task and batch assembly into caller buffers.</summary>
public interface ITaskSource
{
    /// <summary>Number of tasks T.</summary>
    int TaskCount { get; }

    /// <summary>Time steps per sample.</summary>
    int Steps { get; }

    /// <summary>Features per time step.</summary>
    int InputSize { get; }

    /// <summary>Classes (classification) or predicted values per sample (regression).</summary>
    int Outputs { get; }

    /// <summary>True when targets are real values scored by MSE.</summary>
    bool IsRegression { get; }

    /// <summary>Samples of <paramref name="task"/> in <paramref name="split"/>.</summary>
    int Count(int task, DataSplit split);

    /// <summary>The classes a task-incremental (multi-head) task may predict; empty when every class is allowed.</summary>
    ReadOnlySpan<int> AllowedClasses(int task);

    /// <summary>Fills x [n, Steps, InputSize] and labels [n] (or targets [n, Outputs]) for the given sample indices.</summary>
    void FillBatch(int task, DataSplit split, ReadOnlySpan<int> indices, Span<float> x, Span<int> labels, Span<float> targets);
}
