namespace ForgetGate.Lab.Core.Runs;

/// <summary>Everything an executor gets for one attempt of one run.</summary>
/// <param name="RunId">The run's id in the store.</param>
/// <param name="SweepId">The sweep the run belongs to.</param>
/// <param name="ConfigJson">The fully resolved config (canonical JSON).</param>
/// <param name="ConfigHash">SHA-256 of <paramref name="ConfigJson"/> without its <c>name</c>, lower-case hex (see <c>RunConfig.Hash</c>).</param>
/// <param name="Seed">The run's seed.</param>
/// <param name="Attempt">1 for the first attempt, incremented on every claim.</param>
/// <param name="ThreadsPerRun">Compute threads this run may use.</param>
/// <param name="CheckpointDirectory">A directory owned by this run (exists), stable across attempts.</param>
/// <param name="LastCheckpoint">The last checkpoint recorded by an earlier attempt, or null to start fresh.</param>
/// <param name="Sink">Fenced writes of results; every call may throw <see cref="LeaseLostException"/>.</param>
public sealed record RunContext(
    long RunId,
    long SweepId,
    string ConfigJson,
    string ConfigHash,
    long Seed,
    int Attempt,
    int ThreadsPerRun,
    string CheckpointDirectory,
    CheckpointRecord? LastCheckpoint,
    IRunSink Sink)
{
    /// <summary>
    /// The engine object that builds this run's network, when the worker chose one (<c>worker --gpu</c> hands each run
    /// of a batch its seat in the shared launches); null: the engine the config's <c>model.engine</c> names. It must
    /// compute what that name computes, so results do not depend on it.
    /// </summary>
    public Numerics.Engines.IModelEngine? Engine { get; init; }
}
