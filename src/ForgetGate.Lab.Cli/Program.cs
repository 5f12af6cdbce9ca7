namespace ForgetGate.Lab.Cli;

internal static class Program
{
    private static Task<int> Main(string[] args) => CliApp.InvokeAsync(args);
}
