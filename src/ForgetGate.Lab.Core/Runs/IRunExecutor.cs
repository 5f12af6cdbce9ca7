namespace ForgetGate.Lab.Core.Runs;

/// <summary>Does the work of one claimed run; the worker picks the executor whose <see cref="Name"/> the run's config names.</summary>
/// <remarks>
/// Contract: write every result through <see cref="RunContext.Sink"/>; stop at once on <see cref="LeaseLostException"/>;
/// on cancellation checkpoint what you can and throw <see cref="OperationCanceledException"/>; throw
/// <see cref="NonRetryableRunException"/> for failures a retry cannot fix. Returning normally means the run is done.
/// </remarks>
public interface IRunExecutor
{
    /// <summary>The value of the config's <c>"executor"</c> property that selects this executor.</summary>
    string Name { get; }

    /// <summary>Executes (or resumes, when <see cref="RunContext.LastCheckpoint"/> is set) the run.</summary>
    Task ExecuteAsync(RunContext context, CancellationToken cancellationToken);
}
