using ForgetGate.Lab.Core.Data;
using ForgetGate.Lab.Core.Scenarios;
using ForgetGate.Lab.Core.Tests.Data;
using ForgetGate.Lab.Core.Training;

namespace ForgetGate.Lab.Core.Tests.Scenarios;

/// <summary>
/// scenario.sequence: pixels reads an image one pixel per step (T = rows·columns, D = 1), row by row, left to right,
/// after the task's transform: the pixel sequences are the row sequences flattened, and a permuted task's step t reads
/// pixel π(t). The fixture's images are 5 × 7, so a mix-up of rows and columns cannot pass.
/// </summary>
public sealed class PixelSequenceTests : IDisposable
{
    private const int Rows = 5;
    private const int Columns = 7;
    private const int Pixels = Rows * Columns;
    private readonly IdxFixture _fixture = new(train: 300, test: 120, rows: Rows, columns: Columns);
    private readonly ImageDataset _data;

    public PixelSequenceTests()
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

    public static TheoryData<ImageScenarioKind> Kinds => new() { ImageScenarioKind.Permuted, ImageScenarioKind.Rotated, ImageScenarioKind.Split };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Pixels_AreTheRowSequencesFlattenedRowMajor(ImageScenarioKind kind)
    {
        var options = new ImageScenarioOptions(kind, Tasks: 3, TrainPerTask: 60, TestPerTask: 20, MaxAngle: 90, ClassesPerTask: 2);
        var rows = new ImageTasks(_data, options, seed: 11);
        var pixels = new ImageTasks(_data, options with { Sequence = ImageSequence.Pixels }, seed: 11);
        Assert.Equal((Rows, Columns), (rows.Steps, rows.InputSize));
        Assert.Equal((Pixels, 1), (pixels.Steps, pixels.InputSize));

        int[] ids = [0, 1, 5, 17];
        for (int task = 0; task < 3; task++)
        {
            // The same samples and the same transform: only the reading differs.
            Assert.Equal(rows.Indices(task, DataSplit.Train).ToArray(), pixels.Indices(task, DataSplit.Train).ToArray());
            Assert.Equal(rows.Permutation(task).ToArray(), pixels.Permutation(task).ToArray());
            foreach (var split in new[] { DataSplit.Train, DataSplit.Test })
            {
                var r = Batch(rows, task, split, ids); // [n, Rows, Columns]
                var p = Batch(pixels, task, split, ids); // [n, Pixels, 1]
                for (int b = 0; b < ids.Length; b++)
                {
                    for (int t = 0; t < Pixels; t++)
                    {
                        // Step t of the pixel sequence is row t / Columns, column t % Columns of the row sequence.
                        float fromRows = r[(((b * Rows) + (t / Columns)) * Columns) + (t % Columns)];
                        Assert.Equal(fromRows, p[((b * Pixels) + t) * 1]);
                    }
                }
            }
        }
    }

    [Fact]
    public void Pixels_Permuted_StepTReadsPixelPiOfTOfTheRawImage()
    {
        var options = new ImageScenarioOptions(ImageScenarioKind.Permuted, Tasks: 3, TrainPerTask: 60, TestPerTask: 30, Sequence: ImageSequence.Pixels);
        var pixels = new ImageTasks(_data, options, seed: 5);
        int[] ids = [0, 3, 9];
        for (int task = 0; task < 3; task++)
        {
            var pi = pixels.Permutation(task).ToArray();
            if (task == 0)
            {
                Assert.Empty(pi); // identity_first: task 1 is sequential pixel-MNIST, unpermuted
            }
            else
            {
                Assert.Equal(Enumerable.Range(0, Pixels), pi.Order()); // one permutation of all pixels, not within rows
            }

            var x = Batch(pixels, task, DataSplit.Test, ids);
            for (int b = 0; b < ids.Length; b++)
            {
                int sample = pixels.Indices(task, DataSplit.Test)[ids[b]];
                var raw = _data.TestImages.AsSpan(sample * Pixels, Pixels);
                for (int t = 0; t < Pixels; t++)
                {
                    int source = task == 0 ? ((t / Columns) * Columns) + (t % Columns) : pi[t];
                    Assert.Equal(raw[source] / 255f, x[(b * Pixels) + t], 6);
                }
            }
        }
    }
}
