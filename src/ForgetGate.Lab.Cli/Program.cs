using System.CommandLine;
using ForgetGate.Lab.Cli.Commands;

namespace ForgetGate.Lab.Cli;

internal static class Program
{
    private static int Main(string[] args)
    {
        var root = new RootCommand("ForgetGate.Lab: continual-learning experiments on LSTM-family networks.");
        root.Subcommands.Add(InfoCommand.Create());
        root.Subcommands.Add(WorkerCommand.Create());
        root.Subcommands.Add(QueueCommand.Create());
        root.Subcommands.Add(StatusCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(PredictCommand.Create());
        root.Subcommands.Add(RunCommand.Create());
        root.Subcommands.Add(ReportCommand.Create());
        root.Subcommands.Add(DataCommand.Create());
        root.Subcommands.Add(SpecCommand.Create());
        root.Subcommands.Add(ReproduceCommand.Create());
        root.Subcommands.Add(ManageCommands.Cancel());
        root.Subcommands.Add(ManageCommands.Retry());
        root.Subcommands.Add(ManageCommands.Export());
        root.Subcommands.Add(ManageCommands.Compare());
        root.Subcommands.Add(StoreCommand.Create());
        return root.Parse(args).Invoke();
    }
}
