using ForgetGate.Lab.Cli.Errors;
using ForgetGate.Lab.Core.Cells;
using ForgetGate.Lab.Numerics.Cells;
using ForgetGate.Lab.Numerics.Models;

namespace ForgetGate.Lab.Cli.Commands;

/// <summary>A model's cell as a command names it: a built-in variant, or a checked cell file (DESIGN.md §4b).</summary>
internal sealed record ModelVariant(string Name, Variant Variant, CellGraph? Cell)
{
    /// <summary>Gate blocks G (weight_ih has G·H rows): what the FLOP count scales by.</summary>
    public int GateCount => Cell?.Blocks.Length ?? Variant.GateCount();

    /// <summary>The network of this cell at the given shape (not validated).</summary>
    public RecurrentModelConfig Config(int inputSize, int hidden, int layers, int outputs) =>
        new(Variant, inputSize, hidden, layers, outputs) { Cell = Cell };
}

/// <summary>
/// Resolves <c>--variant</c> values the way a spec's <c>model.variant</c> does outside a spec: a built-in name, a
/// cell named in <c>./experiments/cells/&lt;name&gt;.yaml</c>, or a path to a cell file (ending in .yaml/.yml or
/// holding a '/'). A cell file with problems is refused with every diagnostic (file, line, column).
/// </summary>
internal static class ModelVariants
{
    /// <summary>The folder searched for cells by name: <c>experiments/cells</c> under the working directory.</summary>
    public static string CellFolder => Path.Combine(Directory.GetCurrentDirectory(), "experiments", "cells");

    public static ModelVariant Resolve(string text, string option = "--variant")
    {
        ArgumentNullException.ThrowIfNull(text);
        if (Variants.TryParse(text, out var builtIn))
        {
            return new ModelVariant(builtIn.Name(), builtIn, null);
        }

        bool isPath = text.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || text.EndsWith(".yml", StringComparison.OrdinalIgnoreCase) || text.Contains('/', StringComparison.Ordinal);
        CellCheckResult? result;
        if (isPath)
        {
            if (!File.Exists(text))
            {
                throw new CliException(ExitCodes.BadInput, $"{option}: cell file '{Path.GetFullPath(text)}' does not exist.");
            }

            result = CellFileReader.ReadFile(text);
        }
        else
        {
            result = new CellCatalog(new Dictionary<string, CellCheckResult>(), [CellFolder]).Find(text);
        }

        if (result is null)
        {
            string cells = Directory.Exists(CellFolder)
                ? string.Join(", ", Directory.EnumerateFiles(CellFolder, "*.yaml").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal))
                : "";
            throw new CliException(
                ExitCodes.BadInput,
                $"{option}: '{text}' is neither a built-in variant ({string.Join(", ", Variants.All.Select(v => v.Name()))}) nor a cell in {CellFolder}" +
                (cells.Length > 0 ? $" ({cells})" : "") + "; a cell file can also be given by its path.");
        }

        if (!result.Ok)
        {
            throw new CliException(ExitCodes.BadInput, $"{option}: the cell '{text}' has {result.Diagnostics.Length} problem(s): {string.Join(" ", result.Diagnostics.Select(d => d.ToString()))}");
        }

        return new ModelVariant(result.Graph!.Name, Variant.Lstm, result.Graph);
    }
}
