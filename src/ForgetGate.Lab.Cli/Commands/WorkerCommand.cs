using System.CommandLine;
using ForgetGate.Lab.Cli.Errors;
using ForgetGate.Lab.Cli.Worker;
using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Core.Training;
using ForgetGate.Lab.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ForgetGate.Lab.Cli.Commands;

/// <summary><c>forgetgate worker</c>: the hosted worker that drains the queue.</summary>
internal static class WorkerCommand
{
    /// <summary>The command's name; <see cref="CliApp"/> leaves its signals to the generic host.</summary>
    public const string Name = "worker";

    public static Command Create(Action<IServiceCollection>? workerServices = null)
    {
        var db = CliDatabase.CreateOption();
        var concurrency = new Option<string?>("--concurrency") { Description = "Runs executed at once: auto (default; chosen from the cores, printed at start) or a number." };
        var threads = new Option<int?>("--threads-per-run") { Description = "Compute threads per run (default: auto, the cores shared out between the runs)." };
        var lease = new Option<double?>("--lease-seconds") { Description = "Lease length in seconds (default 60)." };
        var heartbeat = new Option<double?>("--heartbeat-seconds") { Description = "Heartbeat period in seconds (default 15; at most half the lease)." };
        var poll = new Option<double?>("--poll-seconds") { Description = "Idle poll period in seconds (default 2)." };
        var untilEmpty = new Option<bool>("--until-empty") { Description = "Exit when no run is queued or running." };
        var checkpoints = new Option<string?>("--checkpoints") { Description = "Checkpoint root directory (default: 'checkpoints' beside a SQLite database, results/checkpoints for a PostgreSQL one; put it on a shared file system so another machine can resume a run)." };
        var sweep = new Option<string?>("--sweep") { Description = "Work only this sweep (id or name); with --until-empty, exit when it is done. Default: every sweep." };
        var gpu = new Option<bool>("--gpu") { Description = "Train queued runs of model.engine gpu in batches: each slot claims up to --gpu-batch runs of one shape and trains them together, one launch per step for all (README: sweep batching)." };
        var gpuBatch = new Option<int?>("--gpu-batch") { Description = "With --gpu: the most runs trained together (default 64)." };
        var shutdown = new Option<double>("--shutdown-seconds") { Description = "Graceful shutdown budget on SIGTERM/Ctrl-C.", DefaultValueFactory = _ => 20 };

        var command = new Command(Name, "Claim queued runs and execute them until stopped (SIGTERM/Ctrl-C checkpoints and releases running runs).\nExample: forgetgate worker --db results/forgetgate.db --concurrency 2 --until-empty")
        {
            db, concurrency, threads, lease, heartbeat, poll, untilEmpty, checkpoints, sweep, gpu, gpuBatch, shutdown,
        };

        // The generic host, not System.CommandLine, owns SIGTERM/Ctrl-C here (CliApp gives this command no termination
        // timeout): a stop signal is the worker's normal end, after its shutdown budget, not an interruption.
        command.SetAction(async (parse, cancellationToken) =>
        {
            long? sweepId = null;
            if (parse.GetValue(sweep) is { } name)
            {
                var lookup = CliDatabase.Open(CliDatabase.Resolve(parse.GetValue(db)));
                sweepId = (await lookup.FindSweepAsync(name, cancellationToken).ConfigureAwait(false))?.Id
                    ?? throw new CliException(ExitCodes.BadInput, $"--sweep '{name}': no such sweep in {lookup.Location}; 'forgetgate status' lists them.");
            }

            // auto, or any number (the validator names a count out of range together with every other problem).
            int? runs = parse.GetValue(concurrency) is { } text
                ? text.Equals("auto", StringComparison.OrdinalIgnoreCase) ? WorkerOptions.Auto
                : int.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out int n) ? n
                : throw new CliException(ExitCodes.BadInput, $"--concurrency '{text}': expected auto or a number of runs 1..256.")
                : null;

            void Configure(WorkerOptions o)
            {
                o.Database = CliDatabase.Resolve(parse.GetValue(db) ?? (o.Database == RunStores.DefaultDatabase ? null : o.Database));
                if (runs is { } given)
                {
                    o.Concurrency = given;
                }

                o.ThreadsPerRun = parse.GetValue(threads) ?? o.ThreadsPerRun;
                o.LeaseSeconds = parse.GetValue(lease) ?? o.LeaseSeconds;
                o.HeartbeatSeconds = parse.GetValue(heartbeat) ?? o.HeartbeatSeconds;
                o.PollSeconds = parse.GetValue(poll) ?? o.PollSeconds;
                o.UntilEmpty |= parse.GetValue(untilEmpty);
                o.CheckpointRoot = parse.GetValue(checkpoints) ?? o.CheckpointRoot;
                o.SweepId = sweepId ?? o.SweepId;
                if (parse.GetValue(gpu) || o.GpuBatch > 0)
                {
                    o.GpuBatch = parse.GetValue(gpuBatch) ?? (o.GpuBatch > 0 ? o.GpuBatch : 64);
                }
            }

            if (parse.GetValue(gpuBatch) is { } size && (!parse.GetValue(gpu) || size < 1))
            {
                throw new CliException(ExitCodes.BadInput, parse.GetValue(gpu)
                    ? $"--gpu-batch {size}: expected at least 1 run trained together."
                    : $"--gpu-batch {size}: only meaningful with --gpu.");
            }

            using var host = WorkerHost.Build(Configure, parse.GetValue(shutdown), verbose: parse.GetValue(CliApp.Verbose), services: workerServices);

            // Before the host starts, so a problem that waiting will not fix ends here as one sentence: invalid flags
            // (exit 2), a --db that names no store (2), a file that is not a SQLite database (3). A store that is
            // read-only, full or unreachable is different: the worker waits for it with backoff, as it would mid-run.
            var options = host.Services.GetRequiredService<IOptions<WorkerOptions>>().Value;
            CliDatabase.CheckFile(options.Database);
            try
            {
                _ = host.Services.GetRequiredService<IRunStore>();
            }
            catch (Exception e) when (e is ArgumentException or NotSupportedException)
            {
                throw new CliException(ExitCodes.BadInput, e.Message, e);
            }

            await host.RunAsync(cancellationToken).ConfigureAwait(false);
            return Environment.ExitCode;
        });
        return command;
    }
}
