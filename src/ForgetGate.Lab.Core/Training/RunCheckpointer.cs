using System.Globalization;
using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Core.Training.Strategies;
using ForgetGate.Lab.Numerics.Engines;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Optim;

namespace ForgetGate.Lab.Core.Training;

/// <summary>
/// Writes and restores everything a run accumulates (weights, optimizer moments and step, strategy state, R), so
/// a run resumed from any checkpoint continues bit for bit (DESIGN.md §2). Random streams are not stored: they are
/// derived from the seed and the position, which is the checkpoint's name and header.
/// </summary>
internal sealed class RunCheckpointer(IRecurrentNetwork model, IOptimizer optimizer, ContinualStrategy strategy, ScoreMatrix scores, string variant)
{
    private const string OptimizerPrefix = "optim.";

    /// <summary>Writes <c>tTTT-eEEE-bBBBBB.safetensors</c> for <paramref name="position"/> into the folder and records it with the sink.</summary>
    public async Task SaveAsync(IRunSink sink, string directory, RunPosition position, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"t{position.Task:D3}-e{position.Epoch:D3}-b{position.Batch:D5}.safetensors"));
        var state = new RunCheckpointState(position);
        foreach (var p in model.Parameters)
        {
            state.Tensors[p.Name] = p.Value;
        }

        var optimizerState = optimizer.GetState();
        state.Metadata["optim.kind"] = optimizerState.Kind;
        state.Metadata["optim.step"] = optimizerState.Step.ToString(CultureInfo.InvariantCulture);
        foreach (var (key, buffer) in optimizerState.Buffers)
        {
            state.Tensors[OptimizerPrefix + key] = buffer;
        }

        strategy.Save(state.Tensors, state.Metadata);
        state.Metadata["strategy"] = strategy.Kind;
        state.Metadata["scores"] = scores.Serialize();
        state.Metadata["variant"] = variant;
        if (model.Config.Cell is not null)
        {
            state.Metadata["cell"] = model.Config.Cell.Definition.ToJson();
        }
        string sha = RunCheckpointFile.Write(path, state);
        await sink.RecordCheckpointAsync(new CheckpointRecord(position.Task, position.Epoch, position.Batch, path, sha), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Restores the state in <paramref name="path"/> and returns the position to continue from; a checkpoint of another run shape is refused by name.</summary>
    public RunPosition Load(string path)
    {
        var state = RunCheckpointFile.Read(path);
        if (state.Metadata.TryGetValue("variant", out var v) && v != variant)
        {
            throw new InvalidDataException($"Checkpoint '{path}' is for variant '{v}', but this run is '{variant}'.");
        }

        foreach (var p in model.Parameters)
        {
            if (!state.Tensors.TryGetValue(p.Name, out var value) || value.Length != p.Length)
            {
                throw new InvalidDataException($"Checkpoint '{path}' lacks parameter '{p.Name}' with {p.Length} values.");
            }

            value.AsSpan().CopyTo(p.Value);
        }

        if (!state.Metadata.TryGetValue("optim.kind", out var kind) || !state.Metadata.TryGetValue("optim.step", out var step))
        {
            throw new InvalidDataException($"Checkpoint '{path}' lacks the optimizer state (metadata 'optim.kind' / 'optim.step').");
        }

        var buffers = state.Tensors.Where(t => t.Key.StartsWith(OptimizerPrefix, StringComparison.Ordinal))
            .ToDictionary(t => t.Key[OptimizerPrefix.Length..], t => t.Value, StringComparer.Ordinal);
        optimizer.SetState(new OptimizerState(kind, long.Parse(step, CultureInfo.InvariantCulture), buffers));
        strategy.Load(state.Tensors, state.Metadata);
        scores.Deserialize(state.Metadata.GetValueOrDefault("scores"), path);
        return state.Position;
    }
}
