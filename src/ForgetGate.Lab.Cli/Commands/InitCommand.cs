using System.CommandLine;
using System.Globalization;
using ForgetGate.Lab.Cli.Errors;
using ForgetGate.Lab.Numerics.Engines;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Random;
using ForgetGate.Lab.Numerics.Serialization;

namespace ForgetGate.Lab.Cli.Commands;

/// <summary>
/// <c>forgetgate init</c>: a model's initial parameters as a model file (DESIGN.md §4b layout, the cell definition in
/// its metadata), drawn exactly as a run with that seed draws them, so a researcher can inspect them, load them into
/// PyTorch, or start an outside implementation from the same point.
/// </summary>
internal static class InitCommand
{
    public static Command Create()
    {
        var variant = new Option<string>("--variant") { Description = "A built-in variant, a cell in ./experiments/cells, or a cell file's path.", Required = true };
        var hidden = new Option<int>("--hidden") { Description = "Hidden units H.", Required = true };
        var layers = new Option<int>("--layers") { Description = "Stacked layers.", DefaultValueFactory = _ => 1 };
        var inputSize = new Option<int>("--input-size") { Description = "Features per time step D (28 for rows of an image, 1 for pixels).", DefaultValueFactory = _ => 28 };
        var outputs = new Option<int>("--outputs") { Description = "Outputs C of the linear head (10 classes).", DefaultValueFactory = _ => 10 };
        var seed = new Option<long>("--seed") { Description = "The run seed: a run of this seed and shape starts from exactly these parameters.", DefaultValueFactory = _ => 1 };
        var steps = new Option<int>("--steps") { Description = "Sequence length T, used by the chrono init (chrono, janet): 28 for rows, 784 for pixels.", DefaultValueFactory = _ => 28 };
        var init = new Option<string>("--init") { Description = "How weights are drawn, as a spec's model.init: rnn (PyTorch's nn.LSTM/nn.GRU) or linear (a hand-written cell of nn.Linear layers).", DefaultValueFactory = _ => "rnn" };
        init.AcceptOnlyFromAmong("rnn", "linear");
        var output = new Option<string>("--out") { Description = "Model file to write (.safetensors).", Required = true };
        var command = new Command(
            "init",
            "Write a model's initial parameters (as a run with this seed draws them) as a model file, the cell definition in its metadata.\n" +
            "Example: forgetgate init --variant slstm --hidden 64 --layers 1 --input-size 28 --outputs 10 --seed 1 --out slstm-init.safetensors")
        {
            variant, hidden, layers, inputSize, outputs, seed, steps, init, output,
        };
        command.SetAction(parse =>
        {
            var inv = CultureInfo.InvariantCulture;
            foreach (var (option, value) in new[] { (hidden, parse.GetValue(hidden)), (layers, parse.GetValue(layers)), (inputSize, parse.GetValue(inputSize)), (outputs, parse.GetValue(outputs)), (steps, parse.GetValue(steps)) })
            {
                if (value < 1)
                {
                    throw new CliException(ExitCodes.BadInput, string.Create(inv, $"{option.Name} must be at least 1 (got {value})."));
                }
            }

            var chosen = ModelVariants.Resolve(parse.GetValue(variant)!);
            var config = chosen.Config(parse.GetValue(inputSize), parse.GetValue(hidden), parse.GetValue(layers), parse.GetValue(outputs)).Validate() with
            {
                Init = parse.GetValue(init) == "linear" ? ParameterInitKind.Linear : ParameterInitKind.Rnn,
            };
            string path = Path.GetFullPath(parse.GetValue(output)!);
            long runSeed = parse.GetValue(seed);
            using var model = new RecurrentModel(config);
            // The same stream a run of this seed uses (ContinualRunner: new Rng(seed).Split("init")), so the file is that run's start.
            ParameterInit.Initialize(model, new Rng(unchecked((ulong)runSeed)).Split("init"), parse.GetValue(steps));
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["seed"] = runSeed.ToString(inv),
                ["steps"] = parse.GetValue(steps).ToString(inv),
                ["initial"] = "true",
                ["init"] = parse.GetValue(init)!,
            };
            try
            {
                string? folder = Path.GetDirectoryName(path);
                if (folder is not null)
                {
                    Directory.CreateDirectory(folder);
                }

                ModelCheckpoint.Save(model, path, metadata);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CliException(ExitCodes.Unavailable, $"cannot write the model file '{path}': {e.Message}", e);
            }

            long count = model.Parameters.Sum(p => (long)p.Length);
            Console.WriteLine(string.Create(inv, $"wrote the initial {config.VariantName} model (H={config.Hidden}, layers={config.Layers}, D={config.InputSize}, C={config.Outputs}, seed {runSeed}, {count} parameters in {model.Parameters.Count} tensors) to {path}"));
            return ExitCodes.Success;
        });
        return command;
    }
}
