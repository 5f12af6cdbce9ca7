namespace ForgetGate.Lab.Cli;

internal static class Program
{
    private static int Main(string[] args) => CliApp.Invoke(args);
}
