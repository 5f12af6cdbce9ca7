using Microsoft.Extensions.DependencyInjection;

namespace ForgetGate.Lab.Cli;

/// <summary>
/// The <c>forgetgate</c> command as a library entry point, for programs that compose it with services of their own.
/// The only user is the tests' worker (tests/ForgetGate.Lab.TestWorker), which adds an executor the product does not
/// ship; the shipped program calls the same code with nothing added.
/// </summary>
public static class ForgetgateCli
{
    /// <summary>Runs the command line <paramref name="args"/>; <paramref name="workerServices"/> is applied to every worker host (<c>worker</c>, <c>run</c>) after the product's own registrations.</summary>
    /// <returns>The process exit code (README, "Command line").</returns>
    public static Task<int> InvokeAsync(string[] args, Action<IServiceCollection> workerServices)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(workerServices);
        return CliApp.InvokeAsync(args, workerServices);
    }
}
