using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Core.Training;
using ForgetGate.Lab.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace ForgetGate.Lab.Cli.Worker;

/// <summary>Builds the Generic Host that runs <see cref="RunWorker"/>: used by <c>worker</c> and by the one-shot <c>run</c>.</summary>
internal static class WorkerHost
{
    /// <summary>Builds the host; <paramref name="configure"/> applies command-line options over configuration.</summary>
    /// <remarks>
    /// Without <paramref name="verbose"/>, logged exceptions show their type and message only, not the stack trace.
    /// <paramref name="services"/> runs last, so a host composed elsewhere (the tests' worker) can add executors;
    /// the product itself registers only the training executor.
    /// </remarks>
    public static IHost Build(Action<WorkerOptions> configure, double shutdownSeconds, LogLevel minimumLevel = LogLevel.Information, Action<long, RunProgress>? onProgress = null, bool verbose = false, Action<IServiceCollection>? services = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], ContentRootPath = Directory.GetCurrentDirectory() });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(minimumLevel);
        if (verbose)
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
                o.UseUtcTimestamp = true;
            });
        }
        else
        {
            builder.Logging.AddConsole(o => o.FormatterName = OneLineConsoleFormatter.FormatterName)
                .AddConsoleFormatter<OneLineConsoleFormatter, ConsoleFormatterOptions>();
        }
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(shutdownSeconds));
        builder.Services.AddSingleton<IValidateOptions<WorkerOptions>, WorkerOptionsValidator>();
        builder.Services.AddOptions<WorkerOptions>()
            .Bind(builder.Configuration.GetSection(WorkerOptions.SectionName))
            .Configure(configure)
            .PostConfigure(o => o.ResolveAuto(Environment.ProcessorCount))
            .ValidateOnStart();

        // Store settings come from configuration only (e.g. Store__MaxPageCount=… as an environment variable).
        var storeOptions = builder.Configuration.GetSection("Store").Get<StoreOptions>() ?? new StoreOptions();
        builder.Services.AddSingleton(sp => RunStores.Open(sp.GetRequiredService<IOptions<WorkerOptions>>().Value.Database, storeOptions));
        builder.Services.AddSingleton<IRunExecutor>(new TrainingRunExecutor(new SpecRunPlanFactory(), RunSummaries.From) { OnProgress = onProgress });
        builder.Services.AddSingleton<WorkerOutcome>();
        builder.Services.AddHostedService<RunWorker>();
        services?.Invoke(builder.Services);
        return builder.Build();
    }
}
