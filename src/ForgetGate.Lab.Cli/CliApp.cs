using System.CommandLine;
using System.CommandLine.Invocation;
using ForgetGate.Lab.Cli.Commands;
using ForgetGate.Lab.Cli.Errors;
using ForgetGate.Lab.Cli.Serve;
using ForgetGate.Lab.Numerics.Engines;
using ForgetGate.Lab.Storage;
using ForgetGate.Lab.Torch;
using Microsoft.Extensions.DependencyInjection;

namespace ForgetGate.Lab.Cli;

/// <summary>The <c>forgetgate</c> command tree and its one way of ending: an exit code, and on failure one sentence on stderr.</summary>
internal static class CliApp
{
    /// <summary>The global <c>--verbose</c>: stack traces with errors, and in worker logs.</summary>
    public static readonly Option<bool> Verbose = new("--verbose")
    {
        Description = "Show the stack trace with an error (and in worker logs); errors are otherwise one sentence.",
        Recursive = true,
    };

    /// <summary>
    /// How long a command may take to stop after Ctrl-C before the process ends anyway with 130. Commands observe
    /// the token; this bounds the ones stuck in a wait nobody can cancel (a SQLite busy wait). <c>run</c> has its own,
    /// shorter grace for its worker to release runs (<see cref="RunCommand.InterruptGrace"/>).
    /// </summary>
    private static readonly TimeSpan TerminationGrace = TimeSpan.FromSeconds(1);

    /// <summary>The command tree; <paramref name="workerServices"/> (see <see cref="ForgetgateCli"/>) is applied to every worker host it builds.</summary>
    public static RootCommand CreateRoot(Action<IServiceCollection>? workerServices = null)
    {
        // Engines beyond managed live in their own projects; registering does not load their native libraries (a
        // network's creation does), so a machine without libtorch runs everything else as before.
        ModelEngines.Register(TorchEngine.Instance);
        ModelEngines.Register(ForgetGate.Lab.Gpu.GpuEngine.Instance);
        var root = new RootCommand("ForgetGate.Lab: continual-learning experiments on LSTM-family networks.");
        root.Options.Add(Verbose);
        root.Subcommands.Add(InfoCommand.Create());
        root.Subcommands.Add(WorkerCommand.Create(workerServices));
        root.Subcommands.Add(QueueCommand.Create());
        root.Subcommands.Add(StatusCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(PredictCommand.Create());
        root.Subcommands.Add(ModelCommand.Create());
        root.Subcommands.Add(InitCommand.Create());
        root.Subcommands.Add(RunCommand.Create(workerServices));
        root.Subcommands.Add(ReportCommand.Create());
        root.Subcommands.Add(DataCommand.Create());
        root.Subcommands.Add(SpecCommand.Create());
        root.Subcommands.Add(ReproduceCommand.Create());
        root.Subcommands.Add(StoreCommand.Create());
        root.Subcommands.Add(ManageCommands.Cancel());
        root.Subcommands.Add(ManageCommands.Retry());
        root.Subcommands.Add(ManageCommands.Export());
        root.Subcommands.Add(ManageCommands.Compare());
        root.Subcommands.Add(ServeCommand.Create());
        return root;
    }

    /// <summary>Parses and runs <paramref name="args"/>; every error ends here as one sentence and an exit code from <see cref="ExitCodes"/>.</summary>
    public static async Task<int> InvokeAsync(string[] args, Action<IServiceCollection>? workerServices = null)
    {
        var parse = CreateRoot(workerServices).Parse(args);
        string command = CommandPath(parse);
        bool verbose = parse.GetValue(Verbose);
        if (parse.Action is ParseErrorAction)
        {
            foreach (var error in parse.Errors)
            {
                Console.Error.WriteLine($"{command}: {error.Message}");
            }

            Console.Error.WriteLine($"See '{command} --help'.");
            return ExitCodes.BadInput;
        }

        try
        {
            // The default handler would print the exception with its stack trace and exit 1. On Ctrl-C/SIGTERM the
            // token every command receives is cancelled; a command that stops with OperationCanceledException ends
            // as 130 below. The worker's generic host handles its own signals (a stop is its normal end).
            var configuration = new InvocationConfiguration
            {
                EnableDefaultExceptionHandler = false,
                ProcessTerminationTimeout = parse.CommandResult.Command.Name == WorkerCommand.Name ? null : TerminationGrace,
            };
            return await parse.InvokeAsync(configuration).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // The process's last line: every exception becomes a sentence and an exit code.
        catch (Exception e)
#pragma warning restore CA1031
        {
            return CliErrors.Report(e, command, StoreOf(parse), verbose, Console.Error);
        }
    }

    /// <summary>"forgetgate spec check": the invoked command's path.</summary>
    private static string CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (var result = parse.CommandResult; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
        {
            names.Add(result.Command is RootCommand ? "forgetgate" : result.Command.Name);
        }

        names.Reverse();
        return string.Join(' ', names);
    }

    /// <summary>The display form of the store the command used (its <c>--db</c>, else the default rule), or null.</summary>
    private static string? StoreOf(ParseResult parse)
    {
        if (parse.CommandResult.Command.Options.FirstOrDefault(o => o.Name == "--db") is not Option<string?> db)
        {
            return null;
        }

        try
        {
            return RunStores.Describe(CliDatabase.Resolve(parse.GetValue(db)));
        }
#pragma warning disable CA1031 // Only for the message: a --db that cannot even be described is left out.
        catch (Exception)
#pragma warning restore CA1031
        {
            return null;
        }
    }
}
