using System.CommandLine;
using System.Globalization;
using ForgetGate.Lab.Numerics.Engines;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Serialization;
using ForgetGate.Lab.Numerics.Threading;

namespace ForgetGate.Lab.Cli.Commands;

/// <summary><c>forgetgate predict</c>: logits of a checkpointed model for a float32 input tensor, both safetensors files.</summary>
internal static class PredictCommand
{
    /// <summary>Exit code for success.</summary>
    public const int Ok = 0;

    /// <summary>Exit code for a bad input file, checkpoint or argument value.</summary>
    public const int BadInput = Errors.ExitCodes.BadInput;

    public static Command Create()
    {
        var checkpoint = new Option<FileInfo>("--checkpoint") { Description = "Model checkpoint (.safetensors) written by training or by PyTorch with the same names.", Required = true };
        var input = new Option<FileInfo>("--input") { Description = "Safetensors file with a float32 tensor 'input' of shape [N, T, input_size].", Required = true };
        var output = new Option<FileInfo>("--output") { Description = "Safetensors file to write: float32 'logits' [N, outputs].", Required = true };
        var batchSize = new Option<int>("--batch-size") { Description = "Samples per forward pass.", DefaultValueFactory = _ => 256 };
        var threads = new Option<int>("--threads") { Description = "Compute threads.", DefaultValueFactory = _ => 1 };
        var engine = EngineOption.Create();
        var command = new Command(
            "predict",
            "Run a checkpointed model on a float32 input tensor and write its logits.\n" +
            "Example: forgetgate predict --checkpoint model.safetensors --input x.safetensors --output y.safetensors")
        {
            checkpoint,
            input,
            output,
            batchSize,
            threads,
            engine,
        };
        command.SetAction(parse => Run(
            parse.GetValue(checkpoint)!.FullName,
            parse.GetValue(input)!.FullName,
            parse.GetValue(output)!.FullName,
            parse.GetValue(batchSize),
            parse.GetValue(threads),
            parse.InvocationConfiguration.Output,
            parse.InvocationConfiguration.Error,
            parse.GetValue(engine)!));
        return command;
    }

    /// <summary>The command's work; returns the exit code and reports errors as one sentence on <paramref name="error"/>.</summary>
    public static int Run(string checkpointPath, string inputPath, string outputPath, int batchSize, int threads, TextWriter output, TextWriter error, string engine = "managed")
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var inv = CultureInfo.InvariantCulture;
        if (batchSize < 1 || threads < 1)
        {
            error.WriteLine(string.Create(inv, $"error: --batch-size ({batchSize}) and --threads ({threads}) must be at least 1."));
            return BadInput;
        }

        try
        {
            // Validate everything before computing anything: input first (cheap), then the checkpoint.
            var inputFile = SafetensorsFile.Read(inputPath);
            var x = inputFile.Get("input");
            if (x.DType != SafetensorsDType.F32 || x.Shape.Count != 3 || x.Shape[1] < 1)
            {
                throw new InvalidDataException($"{inputPath}: tensor 'input' is {x.DType} [{string.Join(", ", x.Shape)}]; expected F32 [N, T, input_size] with T ≥ 1.");
            }

            var checkpoint = ModelCheckpoint.Read(checkpointPath);
            int n = x.Shape[0], steps = x.Shape[1], d = x.Shape[2];
            if (d != checkpoint.Config.InputSize)
            {
                throw new InvalidDataException($"{inputPath}: tensor 'input' has {d} features per step, but the model in {checkpointPath} expects input_size {checkpoint.Config.InputSize}.");
            }

            var values = x.AsFloat32();
            int bad = Array.FindIndex(values, v => !float.IsFinite(v));
            if (bad >= 0)
            {
                int perSample = steps * d;
                throw new InvalidDataException(string.Create(inv, $"{inputPath}: tensor 'input' holds {values[bad]} at [{bad / perSample}, {bad % perSample / d}, {bad % d}]; inputs must be finite."));
            }

            int classes = checkpoint.Config.Outputs;
            var logits = new float[n * classes];
            using (var pool = threads == 1 ? null : new ComputePool(threads))
            using (var model = ModelEngines.Create(engine, checkpoint.Config, pool))
            {
                checkpoint.CopyTo(model.Parameters);
                for (int start = 0; start < n; start += batchSize)
                {
                    int b = Math.Min(batchSize, n - start);
                    model.Forward(
                        values.AsSpan(start * steps * d, b * steps * d),
                        b,
                        steps,
                        logits.AsSpan(start * classes, b * classes),
                        training: false);
                }
            }

            var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["variant"] = checkpoint.Config.VariantName,
                ["checkpoint"] = Path.GetFileName(checkpointPath),
            };
            new SafetensorsFile([SafetensorsTensor.FromFloat32("logits", [n, classes], logits)], metadata).Write(outputPath);
            output.WriteLine(string.Create(inv, $"wrote logits [{n}, {classes}] to {outputPath}"));
            return Ok;
        }
        catch (Exception ex) when (ex is InvalidDataException or FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException or IOException)
        {
            // A wrong or missing file is bad input; one that exists but cannot be read or written is the environment.
            error.WriteLine($"error: {ex.Message}");
            return ex is InvalidDataException or FileNotFoundException or DirectoryNotFoundException ? BadInput : Errors.ExitCodes.Unavailable;
        }
    }
}
