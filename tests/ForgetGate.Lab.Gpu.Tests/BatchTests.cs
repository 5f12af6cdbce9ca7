using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Random;
using static ForgetGate.Lab.Gpu.Tests.ParityTests;

namespace ForgetGate.Lab.Gpu.Tests;

/// <summary>Sweep batching: a run's numbers do not depend on the runs it shares launches with.</summary>
public sealed class BatchTests(DeviceFixture fixture) : IClassFixture<DeviceFixture>
{
    private const int Batch = 5;
    private const int Steps = 4;
    private const int Input = 6;
    private const int Classes = 3;

    [Theory]
    [InlineData("lstm")]
    [InlineData("gru")]
    public void RunAlone_EqualsSameRunInBatchOfFour_BitForBit(string name)
    {
        var config = new RecurrentModelConfig(Variants.Parse(name), Input, 20, 1, Classes);
        using var model = NewModel(config, seed: 31);
        using var alone = new GpuRecurrentBatch(fixture.Device, config, 1);
        alone.SetParameters(0, model.Parameters);
        alone.UseAdam([new OptimizerSettings(0.01f)]);

        // Run 2 of the batch is the lone run; the others differ in weights, data and learning rate.
        const int Slot = 2;
        using var batch = new GpuRecurrentBatch(fixture.Device, config, 4);
        var settings = new List<OptimizerSettings>();
        for (int r = 0; r < 4; r++)
        {
            using var other = NewModel(config, seed: 40 + (ulong)r);
            batch.SetParameters(r, r == Slot ? model.Parameters : other.Parameters);
            settings.Add(new OptimizerSettings(r == Slot ? 0.01f : 0.003f * (r + 1)));
        }

        batch.UseAdam(settings);
        var lossAlone = new float[1];
        var lossBatch = new float[4];
        for (int step = 0; step < 3; step++)
        {
            var (x, labels) = Data(seed: 200 + (ulong)step, runs: 4);
            int sample = Batch * Steps * Input;
            alone.TrainStep(x.AsSpan(Slot * sample, sample), labels.AsSpan(Slot * Batch, Batch), Batch, Steps, clipNorm: 1f, lossAlone);
            batch.TrainStep(x, labels, Batch, Steps, clipNorm: 1f, lossBatch);
            Assert.Equal(BitConverter.SingleToInt32Bits(lossAlone[0]), BitConverter.SingleToInt32Bits(lossBatch[Slot]));
        }

        using var a = new RecurrentModel(config);
        using var b = new RecurrentModel(config);
        alone.GetParameters(0, a.Parameters);
        batch.GetParameters(Slot, b.Parameters);
        for (int p = 0; p < a.Parameters.Count; p++)
        {
            Assert.Equal(a.Parameters[p].Value, b.Parameters[p].Value);
        }

        // And the other runs did train (the batch did real work for them).
        using var first = new RecurrentModel(config);
        batch.GetParameters(0, first.Parameters);
        using var firstInit = NewModel(config, seed: 40);
        Assert.NotEqual(firstInit.Parameters[0].Value, first.Parameters[0].Value);
    }

    [Fact]
    public void InactiveRun_KeepsItsParameters_AndOthersAreUndisturbed()
    {
        var config = new RecurrentModelConfig(Variant.Cifg, Input, 12, 1, Classes);
        using var reference = new GpuRecurrentBatch(fixture.Device, config, 3);
        using var faulty = new GpuRecurrentBatch(fixture.Device, config, 3);
        for (int r = 0; r < 3; r++)
        {
            using var m = NewModel(config, seed: 50 + (ulong)r);
            reference.SetParameters(r, m.Parameters);
            faulty.SetParameters(r, m.Parameters);
        }

        var settings = Enumerable.Repeat(new OptimizerSettings(0.05f, Momentum: 0.9f), 3).ToList();
        reference.UseSgd(settings);
        faulty.UseSgd(settings);
        using var frozen = new RecurrentModel(config);
        for (int step = 0; step < 3; step++)
        {
            var (x, labels) = Data(seed: 300 + (ulong)step, runs: 3);
            if (step == 1)
            {
                faulty.GetParameters(1, frozen.Parameters);
                faulty.SetActive(1, active: false);   // run 1 is cancelled after its first step
            }

            reference.TrainStep(x, labels, Batch, Steps, clipNorm: null, default);
            faulty.TrainStep(x, labels, Batch, Steps, clipNorm: null, default);
        }

        using var got = new RecurrentModel(config);
        using var want = new RecurrentModel(config);
        foreach (int r in new[] { 0, 2 })
        {
            reference.GetParameters(r, want.Parameters);
            faulty.GetParameters(r, got.Parameters);
            for (int p = 0; p < got.Parameters.Count; p++)
            {
                Assert.Equal(want.Parameters[p].Value, got.Parameters[p].Value);
            }
        }

        faulty.GetParameters(1, got.Parameters);
        for (int p = 0; p < got.Parameters.Count; p++)
        {
            Assert.Equal(frozen.Parameters[p].Value, got.Parameters[p].Value);
        }

        Assert.Equal(new long[] { 3, 1, 3 }, faulty.StepCounts);
    }
}
