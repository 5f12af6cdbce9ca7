using ForgetGate.Lab.Cli;
using ForgetGate.Lab.Core.Runs;
using Microsoft.Extensions.DependencyInjection;

namespace ForgetGate.Lab.TestWorker;

/// <summary><c>forgetgate</c> with one more executor, <c>"executor": "synthetic"</c>, for the reliability tests.</summary>
internal static class Program
{
    private static Task<int> Main(string[] args) =>
        ForgetgateCli.InvokeAsync(args, services => services.AddSingleton<IRunExecutor, SyntheticRunExecutor>());
}
