using ForgetGate.Lab.Core.Data;
using ForgetGate.Lab.Core.Runs;
using ForgetGate.Lab.Core.Scenarios;
using ForgetGate.Lab.Core.Specs;

namespace ForgetGate.Lab.Core.Training;

/// <summary>Builds a run from its stored canonical config: the task sequence from the scenario section, the run options from the rest.</summary>
public sealed class SpecRunPlanFactory : IRunPlanFactory
{
    /// <inheritdoc />
    public RunPlan Create(string configJson)
    {
        RunConfig config;
        try
        {
            config = RunConfig.FromCanonicalJson(configJson);
        }
        catch (SpecValidationException e)
        {
            throw new NonRetryableRunException("The run's config is invalid: " + e.Message, e);
        }

        return Create(config);
    }

    /// <summary>Builds the plan of a resolved config; a missing dataset or impossible scenario is non-retryable.</summary>
    public static RunPlan Create(RunConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var s = config.Scenario;
        ulong seed = unchecked((ulong)config.Seed);
        ITaskSource tasks;
        string fingerprint;
        try
        {
            if (s.Kind == "drift")
            {
                var drift = new DriftOptions(
                    Enum.Parse<DriftKind>(s.Drift, ignoreCase: true),
                    s.Family == "ar" ? RegimeFamily.Autoregressive : RegimeFamily.Sinusoid,
                    s.Tasks, s.TrainPerTask, s.TestPerTask, s.Window, s.Horizon, s.Noise, s.ValidationFraction);
                tasks = new DriftTasks(drift, seed);
                fingerprint = "generated:drift";
            }
            else
            {
                var dataset = ImageDataset.Load(s.Dataset ?? "fashion-mnist");
                var kind = Enum.Parse<ImageScenarioKind>(s.Kind, ignoreCase: true);
                tasks = new ImageTasks(dataset, new ImageScenarioOptions(kind, s.Tasks, s.TrainPerTask, s.TestPerTask,
                    s.ValidationFraction, s.Normalize, s.IdentityFirst, s.MaxAngle, s.ClassesPerTask, s.Head == "multi",
                    s.Sequence == "pixels" ? ImageSequence.Pixels : ImageSequence.Rows), seed);
                fingerprint = dataset.Fingerprint;
            }
        }
        catch (Exception e) when (e is DatasetNotFoundException or InvalidDataException or ArgumentException)
        {
            throw new NonRetryableRunException(e.Message, e);
        }

        var t = config.Training;
        var o = t.Optimizer;
        var st = config.Strategy;
        var options = new ContinualRunOptions(
            config.Model.Variant, config.Model.Hidden, config.Model.Layers, t.EpochsPerTask, t.BatchSize,
            new OptimizerOptions(o.Kind, o.Lr, o.Beta1, o.Beta2, o.Eps, o.WeightDecay, o.Momentum, o.Nesterov),
            new StrategyOptions(st.Kind, st.BufferSize, st.ReplayFraction, st.Lambda, st.Gamma, st.FisherSamples,
                st.LwfAlpha, st.LwfTemperature, st.SiC, st.SiXi, st.MasLambda, st.MemoryPerTask, st.AgemReferenceBatch, st.GemMargin, st.DerppAlpha, st.DerppBeta),
            seed, t.ClipNorm > 0 ? t.ClipNorm : null, t.EvalEveryEpoch, t.CheckpointEveryBatches,
            Engine: config.Model.Engine)
        {
            Cell = config.Model.Cell,
            Init = config.Model.Init,
        };
        return new RunPlan(options, tasks, fingerprint);
    }
}
