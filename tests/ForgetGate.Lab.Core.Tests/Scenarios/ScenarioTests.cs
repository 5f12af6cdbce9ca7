using ForgetGate.Lab.Core.Data;
using ForgetGate.Lab.Core.Scenarios;
using ForgetGate.Lab.Core.Tests.Data;
using ForgetGate.Lab.Core.Training;
using ForgetGate.Lab.Numerics.Random;

namespace ForgetGate.Lab.Core.Tests.Scenarios;

public sealed class ScenarioTests : IDisposable
{
    private readonly IdxFixture _fixture = new(train: 400, test: 200);
    private readonly ImageDataset _data;

    public ScenarioTests()
    {
        Assert.True(DatasetLocator.TryFind("fixture", _fixture.Directory, out var location));
        _data = ImageDataset.LoadFrom("fixture", location);
    }

    public void Dispose() => _fixture.Dispose();

    private static float[] Batch(ImageTasks s, int task, DataSplit split, int[] indices)
    {
        var x = new float[indices.Length * s.Steps * s.InputSize];
        s.FillBatch(task, split, indices, x, new int[indices.Length], default);
        return x;
    }

    [Fact]
    public void Permuted_PermutationsArePermutationsDistinctAndSeeded()
    {
        var options = new ImageScenarioOptions(ImageScenarioKind.Permuted, Tasks: 3, TrainPerTask: 100, TestPerTask: 50);
        var a = new ImageTasks(_data, options, seed: 1);
        var b = new ImageTasks(_data, options, seed: 1);
        var c = new ImageTasks(_data, options, seed: 2);
        Assert.True(a.Permutation(0).IsEmpty); // identity first
        for (int t = 1; t < 3; t++)
        {
            Assert.Equal(Enumerable.Range(0, 36), a.Permutation(t).ToArray().Order());
            Assert.Equal(a.Permutation(t).ToArray(), b.Permutation(t).ToArray());
            Assert.NotEqual(a.Permutation(t).ToArray(), c.Permutation(t).ToArray());
        }

        Assert.NotEqual(a.Permutation(1).ToArray(), a.Permutation(2).ToArray());
        int[] ids = [0, 1, 2, 3];
        Assert.Equal(Batch(a, 2, DataSplit.Train, ids), Batch(b, 2, DataSplit.Train, ids));

        // The permuted batch is the identity batch with its pixels moved: same multiset of values per sample.
        var identity = Batch(a, 0, DataSplit.Test, [0]);
        var permuted = Batch(a, 1, DataSplit.Test, [0]);
        int sampleIndex = a.Indices(1, DataSplit.Test)[0];
        var raw = _data.TestImages.AsSpan(sampleIndex * 36, 36).ToArray();
        var perm = a.Permutation(1).ToArray();
        for (int p = 0; p < 36; p++)
        {
            Assert.Equal(raw[perm[p]] / 255f, permuted[p], 6);
        }

        Assert.Equal(36, identity.Length);
    }

    [Fact]
    public void Rotated_ZeroIsIdentity_NinetyIsTransposeAndFlip()
    {
        var image = Enumerable.Range(0, 36).Select(i => (byte)(i * 7)).ToArray();
        var lut = Enumerable.Range(0, 256).Select(v => v / 255f).ToArray();
        var output = new float[36];
        RotationTable.Create(6, 6, 0).Apply(image, output, lut);
        Assert.Equal(image.Select(v => v / 255f), output);

        RotationTable.Create(6, 6, 90).Apply(image, output, lut);
        // Counter-clockwise by 90°: out[r][c] = in[c][n−1−r] (transpose, then flip vertically).
        for (int r = 0; r < 6; r++)
        {
            for (int c = 0; c < 6; c++)
            {
                Assert.Equal(image[(c * 6) + (5 - r)] / 255f, output[(r * 6) + c], 5);
            }
        }
    }

    [Fact]
    public void Split_TasksAreDisjointAndCoverTheClasses()
    {
        var s = new ImageTasks(_data, new ImageScenarioOptions(ImageScenarioKind.Split, Tasks: 5, TrainPerTask: 60, TestPerTask: 30, ClassesPerTask: 2), seed: 3);
        var seen = new HashSet<int>();
        for (int t = 0; t < 5; t++)
        {
            Assert.Equal([2 * t, (2 * t) + 1], s.AllowedClasses(t).ToArray());
            var labels = s.Indices(t, DataSplit.Train).ToArray().Select(i => (int)_data.TrainLabels[i]).ToHashSet();
            Assert.Equal(s.AllowedClasses(t).ToArray().ToHashSet(), labels);
            Assert.True(seen.Overlaps(labels) == false);
            seen.UnionWith(labels);
        }

        Assert.Equal(Enumerable.Range(0, 10), seen.Order());
        var single = new ImageTasks(_data, new ImageScenarioOptions(ImageScenarioKind.Split, 5, 60, 30, MultiHead: false), seed: 3);
        Assert.True(single.AllowedClasses(0).IsEmpty); // class-incremental: one softmax over all classes
    }

    [Fact]
    public void Split_TooManyTasks_NamesTheFields()
    {
        var e = Assert.Throws<ArgumentException>(() => new ImageTasks(_data, new ImageScenarioOptions(ImageScenarioKind.Split, 6, 10, 10), 1));
        Assert.Contains("scenario.tasks × scenario.classes_per_task", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StratifiedSubset_IsBalancedAndWithoutRepeats()
    {
        var ids = StratifiedSubset.Select(_data.TrainLabels, Enumerable.Range(0, 10).ToArray(), 103, new Rng(4));
        Assert.Equal(103, ids.Distinct().Count());
        var counts = ids.CountBy(i => _data.TrainLabels[i]).Select(c => c.Value).ToArray();
        Assert.True(counts.Max() - counts.Min() <= 1, string.Join(",", counts));
    }

    [Fact]
    public void ValidationSplit_IsCarvedFromTraining()
    {
        var s = new ImageTasks(_data, new ImageScenarioOptions(ImageScenarioKind.Permuted, 2, 100, 50, ValidationFraction: 0.2), 5);
        Assert.Equal(80, s.Count(0, DataSplit.Train));
        Assert.Equal(20, s.Count(0, DataSplit.Validation));
        Assert.Empty(s.Indices(0, DataSplit.Train).ToArray().Intersect(s.Indices(0, DataSplit.Validation).ToArray()));
    }

    [Fact]
    public void Drift_Recurring_ReturnsIdenticalRegimes_AbruptDiffers()
    {
        var recurring = new DriftTasks(new DriftOptions(DriftKind.Recurring, RegimeFamily.Sinusoid, 4, 200, 50, 16, 1, 0.05), 7);
        Assert.Same(recurring.Regimes[0], recurring.Regimes[2]);
        Assert.Same(recurring.Regimes[1], recurring.Regimes[3]);
        Assert.NotEqual(recurring.Regimes[0].Frequencies, recurring.Regimes[1].Frequencies);

        var abrupt = new DriftTasks(new DriftOptions(DriftKind.Abrupt, RegimeFamily.Sinusoid, 3, 200, 50, 16, 1, 0.05), 7);
        Assert.Equal(3, abrupt.Regimes.Distinct().Count());
    }

    [Fact]
    public void Drift_ArRegimes_CoefficientsEstimatedBackDiffer()
    {
        var s = new DriftTasks(new DriftOptions(DriftKind.Abrupt, RegimeFamily.Autoregressive, 4, 20_000, 100, 8, 1, 0.1), 11);
        var estimates = new List<(double, double)>();
        for (int t = 0; t < 4; t++)
        {
            var (phi1, phi2) = FitAr2(s.TrainSeries(t));
            // 20,000 samples: least-squares AR(2) estimates have standard error ≈ 1/√n ≈ 0.007; allow 0.05.
            Assert.Equal(s.Regimes[t].Phi1, phi1, 0.05);
            Assert.Equal(s.Regimes[t].Phi2, phi2, 0.05);
            estimates.Add((phi1, phi2));
        }

        // Abrupt regimes are independent draws: the estimated processes are not all alike.
        double spread = estimates.Max(e => e.Item1) - estimates.Min(e => e.Item1);
        Assert.True(spread > 0.2, $"AR(1) coefficients across 4 regimes span only {spread}");
    }

    [Fact]
    public void Drift_Gradual_InterpolatesBetweenEnds()
    {
        var s = new DriftTasks(new DriftOptions(DriftKind.Gradual, RegimeFamily.Sinusoid, 3, 100, 50, 8, 2, 0.0), 13);
        for (int k = 0; k < 3; k++)
        {
            Assert.Equal((s.Regimes[0].Frequencies[k] + s.Regimes[2].Frequencies[k]) / 2, s.Regimes[1].Frequencies[k], 12);
        }

        var x = new float[8];
        var y = new float[2];
        s.FillBatch(1, DataSplit.Train, [5], x, default, y);
        Assert.Equal(s.TrainSeries(1).Slice(5, 8).ToArray(), x);
        Assert.Equal(s.TrainSeries(1).Slice(13, 2).ToArray(), y);
    }

    private static (double Phi1, double Phi2) FitAr2(ReadOnlySpan<float> x)
    {
        double s11 = 0, s12 = 0, s22 = 0, b1 = 0, b2 = 0;
        for (int i = 2; i < x.Length; i++)
        {
            double y = x[i], a = x[i - 1], b = x[i - 2];
            s11 += a * a;
            s12 += a * b;
            s22 += b * b;
            b1 += a * y;
            b2 += b * y;
        }

        double det = (s11 * s22) - (s12 * s12);
        return (((s22 * b1) - (s12 * b2)) / det, ((s11 * b2) - (s12 * b1)) / det);
    }
}
