using ForgetGate.Lab.Core.Scenarios;
using ForgetGate.Lab.Core.Training;

namespace ForgetGate.Lab.Core.Tests.Training;

/// <summary>
/// A worker runs several slots in one process; each run's plan must read the one copy of the dataset's bytes, not
/// load its own (Fashion-MNIST is 55 MB of pixels: a copy per slot would grow the worker by that much per slot).
/// </summary>
public sealed class SharedDatasetTests
{
    private static string Config(int seed, string kind) =>
        """{"model":{"engine":"managed","hidden":8,"layers":1,"variant":"lstm"},"name":"share","scenario":{"dataset":"fashion-mnist",IDFIRST"kind":"KIND",MAXANGLE"normalize":false,"tasks":2,"test_per_task":20,"train_per_task":50,"validation_fraction":0.0},"seed":SEED,"strategy":{"kind":"naive"},"training":{"batch_size":8,"checkpoint_every_batches":0,"clip_norm":0.0,"epochs_per_task":1,"eval_every_epoch":true,"optimizer":{"beta1":0.9,"beta2":0.999,"eps":1E-08,"kind":"adam","lr":0.001,"weight_decay":0.0}}}"""
            .Replace("KIND", kind, StringComparison.Ordinal)
            .Replace("IDFIRST", kind == "permuted" ? "\"identity_first\":true," : "", StringComparison.Ordinal)
            .Replace("MAXANGLE", kind == "rotated" ? "\"max_angle\":180.0," : "", StringComparison.Ordinal)
            .Replace("SEED", seed.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    [Fact]
    public async Task PlansCreatedAtOnce_ForDifferentRunsAndScenarios_ShareOneDatasetInstance()
    {
        // CI installs Debian's dataset-fashion-mnist (as the real-data tests need).
        var factory = new SpecRunPlanFactory();
        string[] configs = [Config(1, "permuted"), Config(2, "permuted"), Config(3, "rotated"), Config(4, "permuted")];
        var plans = await Task.WhenAll(configs.Select(c => Task.Run(() => factory.Create(c))));
        var datasets = plans.Select(p => Assert.IsType<ImageTasks>(p.Tasks).Dataset).ToList();
        Assert.All(datasets, d => Assert.Same(datasets[0], d));
        Assert.Single(plans.Select(p => p.DatasetFingerprint).Distinct());
    }
}
