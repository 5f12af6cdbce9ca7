using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace ForgetGate.Lab.Cli.Worker;

/// <summary>
/// The worker's log line without <c>--verbose</c>: the simple console layout (UTC time, level, category[event] message)
/// on one line, with an exception reduced to its type and message; <c>--verbose</c> switches back to the simple
/// formatter, which prints the stack trace.
/// </summary>
internal sealed class OneLineConsoleFormatter : ConsoleFormatter
{
    public const string FormatterName = "forgetgate-one-line";

    public OneLineConsoleFormatter()
        : base(FormatterName)
    {
    }

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        ArgumentNullException.ThrowIfNull(textWriter);
        string? message = logEntry.Formatter?.Invoke(logEntry.State, logEntry.Exception);
        if (message is null && logEntry.Exception is null)
        {
            return;
        }

        var inv = CultureInfo.InvariantCulture;
        textWriter.Write(DateTime.UtcNow.ToString("HH:mm:ss.fff ", inv));
        textWriter.Write(Level(logEntry.LogLevel));
        textWriter.Write(string.Create(inv, $": {logEntry.Category}[{logEntry.EventId.Id}] "));
        textWriter.Write(message?.ReplaceLineEndings(" "));
        if (logEntry.Exception is { } e)
        {
            textWriter.Write($" ({e.GetType().Name}: {e.Message.ReplaceLineEndings(" ").Trim().TrimEnd('.')}; --verbose shows the stack trace)");
        }

        textWriter.WriteLine();
    }

    private static string Level(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        LogLevel.Critical => "crit",
        _ => "none",
    };
}
