using System.CommandLine;
using ForgetGate.Lab.Numerics.Engines;

namespace ForgetGate.Lab.Cli.Commands;

/// <summary>The <c>--engine</c> option of bench, predict and reproduce: the same choices as a spec's <c>model.engine</c>.</summary>
internal static class EngineOption
{
    public static Option<string> Create(string? defaultsTo = null)
    {
        var option = new Option<string>("--engine")
        {
            Description = $"Engine that computes the model: {string.Join(" or ", ModelEngines.KnownNames)} (README: Engines). Default: {defaultsTo ?? ModelEngines.Default}.",
            DefaultValueFactory = _ => defaultsTo ?? ModelEngines.Default,
        };
        option.AcceptOnlyFromAmong([.. ModelEngines.KnownNames]);
        return option;
    }
}
