using ForgetGate.Lab.Cli.Errors;
using ForgetGate.Lab.Cli.Worker;
using ForgetGate.Lab.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ForgetGate.Lab.Cli.Tests.Errors;

/// <summary>The mapping from exceptions to exit codes and sentences, and the worker's one-line log of an exception.</summary>
public sealed class CliErrorsTests
{
    private static Exception Thrown(Exception e)
    {
        try
        {
            throw e;
        }
        catch (Exception caught)
        {
            return caught;
        }
    }

    [Fact]
    public void Report_UnexpectedException_ExitFourOneLineAskingForVerbose()
    {
        var error = new StringWriter();
        int code = CliErrors.Report(Thrown(new InvalidOperationException("Sequence contains no elements")), "forgetgate report", null, verbose: false, error);

        Assert.Equal(ExitCodes.Internal, code);
        Assert.Equal(
            "forgetgate report: unexpected error: InvalidOperationException: Sequence contains no elements. Run again with --verbose for the stack trace, and please report it." + Environment.NewLine,
            error.ToString());
    }

    [Fact]
    public void Report_Verbose_AddsTheStackTraceAfterTheSentence()
    {
        var error = new StringWriter();
        CliErrors.Report(Thrown(new CliException(ExitCodes.BadInput, "no run 9 in /x.db.")), "forgetgate retry", null, verbose: true, error);

        var lines = error.ToString().Split(Environment.NewLine);
        Assert.Equal("forgetgate retry: no run 9 in /x.db.", lines[0]);
        Assert.Contains("   at ForgetGate.Lab.Cli.Tests.Errors.CliErrorsTests.Thrown", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(typeof(StoreUnavailableException), ExitCodes.Unavailable)]
    [InlineData(typeof(UnauthorizedAccessException), ExitCodes.Unavailable)]
    [InlineData(typeof(IOException), ExitCodes.Unavailable)]
    [InlineData(typeof(FileNotFoundException), ExitCodes.BadInput)]
    [InlineData(typeof(DirectoryNotFoundException), ExitCodes.BadInput)]
    [InlineData(typeof(OperationCanceledException), ExitCodes.Interrupted)]
    [InlineData(typeof(ArgumentException), ExitCodes.Internal)]
    public void Describe_ExceptionKinds_MapToTheDocumentedExitCodes(Type type, int expected)
    {
        var exception = (Exception)Activator.CreateInstance(type, "what went wrong")!;
        Assert.Equal(expected, CliErrors.Describe(exception, "/x.db").ExitCode);
        Assert.Equal(expected, CliErrors.Describe(new AggregateException(exception), "/x.db").ExitCode); // unwrapped
    }

    [Fact]
    public void OneLineConsoleFormatter_Exception_TypeAndMessageOnTheLogLineWithoutStackTrace()
    {
        var writer = new StringWriter();
        var e = Thrown(new IOException("No space left on device"));
        new OneLineConsoleFormatter().Write(
            new LogEntry<string>(LogLevel.Error, "ForgetGate.Lab.Cli.Worker.RunWorker", new EventId(9), "Run 3 failed on attempt 1", e, (s, _) => s),
            null, writer);

        string line = Assert.Single(writer.ToString().TrimEnd().Split(Environment.NewLine));
        Assert.Matches(@"^\d\d:\d\d:\d\d\.\d{3} fail: ForgetGate\.Lab\.Cli\.Worker\.RunWorker\[9\] Run 3 failed on attempt 1 \(IOException: No space left on device; --verbose shows the stack trace\)$", line);
    }
}
