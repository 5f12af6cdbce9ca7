using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Threading;

namespace ForgetGate.Lab.Numerics.Tests.Models;

/// <summary>
/// Pools larger than a phase's work pays for: each phase uses only the workers it can keep busy (the recurrent loop at
/// least 16 rows each, the tile split at most 2, weight gradients one per 32 gate rows), and the results may not
/// depend on any of it.
/// </summary>
public sealed class ThreadScalingTests
{
    [Theory]
    [InlineData("lstm", 7)]     // tile split over 2 of the 6 threads, a barrier every step
    [InlineData("lstm", 40)]    // batch split over 2 (16 rows each at least), weight gradients over 6
    [InlineData("gru", 100)]    // batch split over 6
    [InlineData("ur-lstm", 33)]
    public void TrainingStep_SixThreads_BitIdenticalToOne(string variant, int batch)
    {
        const int input = 6, hidden = 40, layers = 2, outputs = 4, steps = 5;
        var v = Variants.Parse(variant);
        using var pool = new ComputePool(6);
        using var one = ModelTestData.Create(v, input, hidden, layers, outputs, steps);
        using var six = ModelTestData.Create(v, input, hidden, layers, outputs, steps, pool);
        var x = ModelTestData.Input(batch, steps, input);
        var d = ModelTestData.Input(batch, 1, outputs, "dOut");
        var y1 = new float[batch * outputs];
        var y6 = new float[batch * outputs];
        for (int step = 0; step < 2; step++)
        {
            one.Forward(x, batch, steps, y1, training: true);
            six.Forward(x, batch, steps, y6, training: true);
            Assert.Equal(y1, y6);
            one.Backward(d);
            six.Backward(d);
            for (int i = 0; i < one.Parameters.Count; i++)
            {
                Assert.Equal(one.Parameters[i].Gradient, six.Parameters[i].Gradient);
            }
        }
    }
}
