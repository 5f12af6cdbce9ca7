using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using ForgetGate.Lab.Cli.Errors;
using ForgetGate.Lab.Core.Specs;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Serialization;
using ForgetGate.Lab.Storage;

namespace ForgetGate.Lab.Cli.Commands;

/// <summary>
/// <c>forgetgate model RUN --out FILE</c>: the model of a run's last checkpoint as a plain model file (state_dict
/// names and shapes, model metadata, the run's config), for <c>predict</c> or PyTorch.
/// </summary>
internal static class ModelCommand
{
    public static Command Create()
    {
        var run = new Argument<long>("RUN") { Description = "Run id (see 'forgetgate status SWEEP' or runs.csv)." };
        var output = new Option<string?>("--out") { Description = "Model file to write (.safetensors); default <results>/<sweep>/model-run-<RUN>.safetensors." };
        var db = CliDatabase.CreateOption();
        var command = new Command(
            "model",
            "Write the model of a run's last checkpoint (its final model once the run succeeded) as a model file PyTorch and 'predict' load.\n" +
            "Example: forgetgate model 7 --out model.safetensors")
        {
            run, output, db,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var inv = CultureInfo.InvariantCulture;
            string database = CliDatabase.Resolve(parse.GetValue(db));
            var store = CliDatabase.OpenExisting(database);
            long id = parse.GetValue(run);
            var record = await store.GetRunAsync(id, cancellationToken).ConfigureAwait(false)
                ?? throw new CliException(ExitCodes.BadInput, string.Create(inv, $"no run {id} in {store.Location}; 'forgetgate status SWEEP' and runs.csv list them."));
            var checkpoints = await store.GetCheckpointsAsync(id, cancellationToken).ConfigureAwait(false);
            if (checkpoints.Count == 0)
            {
                throw new CliException(ExitCodes.BadInput, string.Create(inv, $"run {id} ({record.Status}) has no checkpoint yet; a run writes one after each task."));
            }

            var last = checkpoints[^1];
            var checkpoint = ReadVerified(id, last);
            var sweep = await store.FindSweepAsync(record.SweepId.ToString(inv), cancellationToken).ConfigureAwait(false);
            string sweepName = sweep?.Name ?? "";
            string path = parse.GetValue(output) ?? DefaultPath(database, sweepName, id);
            var config = RunConfig.FromCanonicalJson(record.ConfigJson, string.Create(inv, $"run {id}'s stored config"));
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["run"] = id.ToString(inv),
                ["sweep"] = sweepName,
                ["status"] = record.Status,
                ["after_task"] = last.Task.ToString(inv),
                ["tasks"] = config.Scenario.Tasks.ToString(inv),
                ["config_hash"] = record.ConfigHash,
                ["config"] = record.ConfigJson,
                ["source_checkpoint"] = last.Path,
            };
            try
            {
                string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
                if (folder is not null)
                {
                    Directory.CreateDirectory(folder);
                }

                checkpoint.ToModelFile(metadata).Write(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CliException(ExitCodes.Unavailable, $"cannot write the model file '{Path.GetFullPath(path)}': {e.Message}", e);
            }

            string position = string.Create(inv, $"after task {last.Task} of {config.Scenario.Tasks}") + (last.Epoch > 0 || last.Batch > 0 ? string.Create(inv, $", epoch {last.Epoch}, batch {last.Batch}") : "");
            Console.WriteLine(string.Create(inv, $"wrote the model of run {id} ({checkpoint.Config.VariantName}, {record.Status}, {position}) to {Path.GetFullPath(path)}"));
            Console.WriteLine($"from checkpoint {last.Path}");
            return ExitCodes.Success;
        });
        return command;
    }

    private static string DefaultPath(string database, string sweepName, long id)
    {
        string file = string.Create(CultureInfo.InvariantCulture, $"model-run-{id}.safetensors");
        return SpecNames.IsSafe(sweepName)
            ? Path.Combine(RunStores.LocalDirectory(database), sweepName, file)
            : throw new CliException(ExitCodes.BadInput, $"run {id}'s sweep name '{sweepName}' is not a safe folder name ({SpecNames.Rule}); give the file with --out.");
    }

    /// <summary>Reads the checkpoint file a run recorded, after checking that it is the file the run wrote (its SHA-256).</summary>
    private static CheckpointData ReadVerified(long id, Core.Runs.CheckpointRecord checkpoint)
    {
        var inv = CultureInfo.InvariantCulture;
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(checkpoint.Path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CliException(ExitCodes.Unavailable, string.Create(inv, $"run {id}'s checkpoint '{checkpoint.Path}' is not on this machine (a worker with another --checkpoints folder wrote it?)."), e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.Unavailable, string.Create(inv, $"run {id}'s checkpoint '{checkpoint.Path}' cannot be read: {e.Message}"), e);
        }

        string sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (sha != checkpoint.Sha256)
        {
            throw new CliException(ExitCodes.Unavailable, string.Create(inv, $"run {id}'s checkpoint '{checkpoint.Path}' has SHA-256 {sha[..12]}…, not the {checkpoint.Sha256[..12]}… the run recorded: the file was changed or replaced."));
        }

        try
        {
            return ModelCheckpoint.Validate(SafetensorsFile.Parse(bytes, checkpoint.Path));
        }
        catch (InvalidDataException e)
        {
            throw new CliException(ExitCodes.Unavailable, string.Create(inv, $"run {id}'s checkpoint cannot be used as a model: {e.Message}"), e);
        }
    }
}
