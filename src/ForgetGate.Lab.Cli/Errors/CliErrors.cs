using System.Data.Common;
using ForgetGate.Lab.Core.Specs;
using ForgetGate.Lab.Numerics.Engines;
using ForgetGate.Lab.Storage;
using Microsoft.Extensions.Options;

namespace ForgetGate.Lab.Cli.Errors;

/// <summary>
/// Turns any exception that ends a command into one sentence on stderr and an exit code (<see cref="ExitCodes"/>);
/// the stack trace follows only with <c>--verbose</c>.
/// </summary>
internal static class CliErrors
{
    /// <summary>The exit code and sentence for <paramref name="exception"/>; <paramref name="store"/> names the store the command used, if known.</summary>
    public static (int ExitCode, string Message) Describe(Exception exception, string? store)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (exception is AggregateException { InnerExceptions.Count: 1 } aggregate)
        {
            return Describe(aggregate.InnerExceptions[0], store);
        }

        string where = store is null ? "the store" : $"the store {store}";
        return exception switch
        {
            CliException e => (e.ExitCode, e.Message),
            SpecValidationException e => (ExitCodes.BadInput, e.Message),
            OptionsValidationException e => (ExitCodes.BadInput, "invalid options: " + string.Join(" ", e.Failures)),
            StoreUnavailableException e => (ExitCodes.Unavailable, e.Message),
            EngineUnavailableException e => (ExitCodes.Unavailable, e.Message),
            DbException e => (ExitCodes.Unavailable, $"{where} cannot be used: {Sentence(e.Message)}"),
            FileNotFoundException or DirectoryNotFoundException => (ExitCodes.BadInput, Sentence(exception.Message)),
            IOException or UnauthorizedAccessException => (ExitCodes.Unavailable, Sentence(exception.Message)),
            OperationCanceledException => (ExitCodes.Interrupted, "interrupted."),
            _ => (ExitCodes.Internal, $"unexpected error: {exception.GetType().Name}: {Sentence(exception.Message)} Run again with --verbose for the stack trace, and please report it."),
        };
    }

    /// <summary>Writes the error for a command to <paramref name="error"/> and returns its exit code.</summary>
    public static int Report(Exception exception, string command, string? store, bool verbose, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var (code, message) = Describe(exception, store);
        error.WriteLine($"{command}: {message}");
        if (verbose)
        {
            error.WriteLine(exception.ToString());
        }

        return code;
    }

    /// <summary>One line, ending with a full stop.</summary>
    private static string Sentence(string message)
    {
        string line = message.ReplaceLineEndings(" ").Trim();
        return line.EndsWith('.') || line.EndsWith(".'", StringComparison.Ordinal) ? line : line + ".";
    }
}
