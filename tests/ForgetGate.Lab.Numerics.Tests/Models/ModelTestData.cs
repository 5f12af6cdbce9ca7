using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Random;
using ForgetGate.Lab.Numerics.Threading;

namespace ForgetGate.Lab.Numerics.Tests.Models;

/// <summary>Seeded models and inputs for the model tests; FORGETGATE_TEST_SEED overrides the seed.</summary>
internal static class ModelTestData
{
    public static ulong Seed { get; } =
        ulong.TryParse(Environment.GetEnvironmentVariable("FORGETGATE_TEST_SEED"), out var s) ? s : 20261122UL;

    public static RecurrentModel Create(Variant variant, int input, int hidden, int layers, int outputs, int steps, ComputePool? pool = null, string stream = "model")
    {
        var model = new RecurrentModel(new RecurrentModelConfig(variant, input, hidden, layers, outputs), pool);
        model.Initialize(new Rng(Seed).Split(stream), steps);
        return model;
    }

    public static float[] Input(int batch, int steps, int input, string stream = "x")
    {
        var rng = new Rng(Seed).Split(stream);
        var x = new float[batch * steps * input];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)rng.NextGaussian();
        }

        return x;
    }

    public static void CopyParameters(RecurrentModel from, RecurrentModel to)
    {
        for (int i = 0; i < from.Parameters.Count; i++)
        {
            from.Parameters[i].Value.CopyTo(to.Parameters[i].Value, 0);
        }
    }
}
