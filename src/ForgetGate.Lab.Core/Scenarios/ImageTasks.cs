using ForgetGate.Lab.Core.Data;
using ForgetGate.Lab.Core.Training;
using ForgetGate.Lab.Numerics.Random;

namespace ForgetGate.Lab.Core.Scenarios;

/// <summary>How the tasks of an image scenario differ.</summary>
public enum ImageScenarioKind
{
    /// <summary>A fixed random pixel permutation per task (domain-incremental).</summary>
    Permuted,

    /// <summary>A fixed rotation angle per task, bilinear (domain-incremental).</summary>
    Rotated,

    /// <summary>Disjoint groups of classes per task.</summary>
    Split,
}

/// <summary>How an image is read as a sequence (<c>scenario.sequence</c>).</summary>
public enum ImageSequence
{
    /// <summary>One step per image row: T = rows (28), D = columns (28).</summary>
    Rows,

    /// <summary>
    /// One step per pixel: T = rows·columns (784), D = 1, in row-major order, so step t is pixel (t / columns, t % columns)
    /// of the transformed image: the values are exactly the rows sequence's, flattened (sequential pixel-MNIST; with
    /// <see cref="ImageScenarioKind.Permuted"/>, step t reads pixel π(t): the classic permuted pixel-MNIST).
    /// </summary>
    Pixels,
}

/// <summary>Options of an image scenario; <see cref="Validate"/> names any bad field.</summary>
public sealed record ImageScenarioOptions(
    ImageScenarioKind Kind, int Tasks, int TrainPerTask, int TestPerTask,
    double ValidationFraction = 0, bool Normalize = false, bool IdentityFirst = true, double MaxAngle = 180,
    int ClassesPerTask = 2, bool MultiHead = true, ImageSequence Sequence = ImageSequence.Rows)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the field and the allowed values.</summary>
    public void Validate(ImageDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (Tasks < 1)
        {
            throw new ArgumentException($"scenario.tasks is {Tasks}; expected at least 1.");
        }

        if (Kind == ImageScenarioKind.Split && ClassesPerTask * Tasks > dataset.Classes)
        {
            throw new ArgumentException($"scenario.tasks × scenario.classes_per_task = {Tasks} × {ClassesPerTask} needs {Tasks * ClassesPerTask} classes but {dataset.Name} has {dataset.Classes}.");
        }

        if (ValidationFraction is < 0 or > 0.5)
        {
            throw new ArgumentException($"scenario.validation_fraction is {ValidationFraction}; expected [0, 0.5].");
        }
    }
}

/// <summary>
/// Image task sequences read row by row (T = image rows, D = image columns) or pixel by pixel (T = rows·columns,
/// D = 1; <see cref="ImageSequence"/>), pixels scaled to [0, 1] or standardised. Images stay as the dataset's bytes;
/// each task keeps only its sample indices and a transform (a permutation of all pixels, or a bilinear rotation
/// table), applied when a batch is filled. Both readings fill the same row-major buffer [n, rows·columns]: a sample's
/// transformed image, row after row. Rows sees it as [rows, columns], pixels as [rows·columns, 1], so pixel sequences
/// are the row sequences flattened, and a task's permutation π (over all pixels, never within a row) puts pixel π(t)
/// at step t of the pixel sequence.
/// </summary>
public sealed class ImageTasks : ITaskSource
{
    private readonly ImageDataset _data;
    private readonly ImageScenarioOptions _options;
    private readonly int[][] _train;
    private readonly int[][] _validation;
    private readonly int[][] _test;
    private readonly int[]?[] _permutation;
    private readonly RotationTable?[] _rotation;
    private readonly int[][] _allowed;
    private readonly float[] _lut = new float[256];

    /// <summary>The images every task reads (one instance per process and folder: runs side by side share its bytes).</summary>
    internal ImageDataset Dataset => _data;

    /// <summary>Builds the tasks; every choice (subsets, permutations) is drawn from <paramref name="seed"/>.</summary>
    public ImageTasks(ImageDataset dataset, ImageScenarioOptions options, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(dataset);
        _data = dataset;
        _options = options;
        var rng = new Rng(seed).Split("scenario");
        int t = options.Tasks;
        _train = new int[t][];
        _validation = new int[t][];
        _test = new int[t][];
        _permutation = new int[t][];
        _rotation = new RotationTable[t];
        _allowed = new int[t][];
        for (int task = 0; task < t; task++)
        {
            int[] classes = options.Kind == ImageScenarioKind.Split
                ? Enumerable.Range(task * options.ClassesPerTask, options.ClassesPerTask).ToArray()
                : Enumerable.Range(0, dataset.Classes).ToArray();
            _allowed[task] = options.Kind == ImageScenarioKind.Split && options.MultiHead ? classes : [];
            var trainAll = StratifiedSubset.Select(dataset.TrainLabels, classes, options.TrainPerTask, rng.Split($"train/{task}"));
            int validation = (int)Math.Round(trainAll.Length * options.ValidationFraction);
            _validation[task] = trainAll[..validation];
            _train[task] = trainAll[validation..];
            _test[task] = StratifiedSubset.Select(dataset.TestLabels, classes, options.TestPerTask, rng.Split($"test/{task}"));
            if (options.Kind == ImageScenarioKind.Permuted && !(task == 0 && options.IdentityFirst))
            {
                var p = Enumerable.Range(0, dataset.PixelCount).ToArray();
                rng.Split($"permutation/{task}").Shuffle<int>(p);
                _permutation[task] = p;
            }

            if (options.Kind == ImageScenarioKind.Rotated)
            {
                double angle = t == 1 ? 0 : task * options.MaxAngle / (t - 1);
                _rotation[task] = RotationTable.Create(dataset.Rows, dataset.Columns, angle);
            }
        }

        double mean = options.Normalize ? dataset.Mean : 0, std = options.Normalize ? dataset.Std : 1;
        for (int v = 0; v < 256; v++)
        {
            _lut[v] = (float)(((v / 255.0) - mean) / std);
        }
    }

    /// <inheritdoc />
    public int TaskCount => _options.Tasks;

    /// <inheritdoc />
    public int Steps => _options.Sequence == ImageSequence.Pixels ? _data.PixelCount : _data.Rows;

    /// <inheritdoc />
    public int InputSize => _options.Sequence == ImageSequence.Pixels ? 1 : _data.Columns;

    /// <inheritdoc />
    public int Outputs => _data.Classes;

    /// <inheritdoc />
    public bool IsRegression => false;

    /// <summary>The pixel permutation of a task (null for the identity).</summary>
    public ReadOnlySpan<int> Permutation(int task) => _permutation[task];

    /// <summary>Sample indices (into the dataset split) of a task.</summary>
    public ReadOnlySpan<int> Indices(int task, DataSplit split) => Split(task, split);

    /// <inheritdoc />
    public int Count(int task, DataSplit split) => Split(task, split).Length;

    /// <inheritdoc />
    public ReadOnlySpan<int> AllowedClasses(int task) => _allowed[task];

    /// <inheritdoc />
    public void FillBatch(int task, DataSplit split, ReadOnlySpan<int> indices, Span<float> x, Span<int> labels, Span<float> targets)
    {
        int pixels = _data.PixelCount;
        if (x.Length < indices.Length * pixels || labels.Length < indices.Length)
        {
            throw new ArgumentException($"Batch buffers hold {x.Length} values and {labels.Length} labels; {indices.Length} samples need {indices.Length * pixels} and {indices.Length}.");
        }

        var ids = Split(task, split);
        var images = split == DataSplit.Test ? _data.TestImages : _data.TrainImages;
        var imageLabels = split == DataSplit.Test ? _data.TestLabels : _data.TrainLabels;
        var lut = _lut;
        var permutation = _permutation[task];
        var rotation = _rotation[task];
        for (int i = 0; i < indices.Length; i++)
        {
            int sample = ids[indices[i]];
            var image = images.AsSpan(sample * pixels, pixels);
            var row = x.Slice(i * pixels, pixels);
            labels[i] = imageLabels[sample];
            if (rotation is not null)
            {
                rotation.Apply(image, row, lut);
            }
            else if (permutation is not null)
            {
                for (int p = 0; p < pixels; p++)
                {
                    row[p] = lut[image[permutation[p]]];
                }
            }
            else
            {
                for (int p = 0; p < pixels; p++)
                {
                    row[p] = lut[image[p]];
                }
            }
        }
    }

    private int[] Split(int task, DataSplit split) => split switch
    {
        DataSplit.Train => _train[task],
        DataSplit.Validation => _validation[task],
        _ => _test[task],
    };
}

/// <summary>Stratified subsets: equal counts per class (as equal as the total allows), drawn without replacement.</summary>
public static class StratifiedSubset
{
    /// <summary>Indices of <paramref name="count"/> samples whose label is in <paramref name="classes"/>, balanced, in shuffled order.</summary>
    public static int[] Select(ReadOnlySpan<byte> labels, int[] classes, int count, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(classes);
        ArgumentNullException.ThrowIfNull(rng);
        var byClass = classes.ToDictionary(c => c, _ => new List<int>());
        for (int i = 0; i < labels.Length; i++)
        {
            if (byClass.TryGetValue(labels[i], out var list))
            {
                list.Add(i);
            }
        }

        int available = byClass.Values.Sum(l => l.Count);
        if (count > available)
        {
            throw new ArgumentException($"Asked for {count} samples of classes {string.Join(",", classes)} but only {available} exist.");
        }

        var chosen = new List<int>(count);
        int perClass = count / classes.Length, extra = count % classes.Length;
        for (int k = 0; k < classes.Length; k++)
        {
            var pool = byClass[classes[k]].ToArray();
            rng.Shuffle<int>(pool);
            int take = Math.Min(pool.Length, perClass + (k < extra ? 1 : 0));
            chosen.AddRange(pool.AsSpan(0, take).ToArray());
        }

        var result = chosen.ToArray();
        rng.Shuffle<int>(result);
        return result;
    }
}

/// <summary>Bilinear rotation about the image centre as a table: 4 source pixels and 4 weights per output pixel.</summary>
public sealed class RotationTable
{
    private readonly int[] _source;   // 4 per pixel; -1 = outside (zero)
    private readonly float[] _weight; // 4 per pixel

    private RotationTable(int[] source, float[] weight)
    {
        _source = source;
        _weight = weight;
    }

    /// <summary>Output pixel (r, c) samples the input at the point rotated by −angle about the centre (counter-clockwise rotation of the image).</summary>
    public static RotationTable Create(int rows, int columns, double degrees)
    {
        double theta = degrees * Math.PI / 180;
        double cos = Math.Round(Math.Cos(theta), 12), sin = Math.Round(Math.Sin(theta), 12);
        double cy = (rows - 1) / 2.0, cx = (columns - 1) / 2.0;
        var source = new int[rows * columns * 4];
        var weight = new float[rows * columns * 4];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++)
            {
                double dy = r - cy, dx = c - cx;
                // Inverse map of a counter-clockwise rotation (rows grow downwards).
                double sy = (cos * dy) + (sin * dx) + cy;
                double sx = (cos * dx) - (sin * dy) + cx;
                int y0 = (int)Math.Floor(sy), x0 = (int)Math.Floor(sx);
                double fy = sy - y0, fx = sx - x0;
                int o = ((r * columns) + c) * 4;
                Set(o, y0, x0, (1 - fy) * (1 - fx));
                Set(o + 1, y0, x0 + 1, (1 - fy) * fx);
                Set(o + 2, y0 + 1, x0, fy * (1 - fx));
                Set(o + 3, y0 + 1, x0 + 1, fy * fx);
            }
        }

        return new RotationTable(source, weight);

        void Set(int slot, int y, int x, double w)
        {
            bool inside = y >= 0 && y < rows && x >= 0 && x < columns;
            source[slot] = inside && w > 1e-12 ? (y * columns) + x : -1;
            weight[slot] = inside ? (float)w : 0f;
        }
    }

    /// <summary>Rotates one image of bytes into floats through the value table <paramref name="lut"/> (out-of-image pixels are 0 before scaling).</summary>
    public void Apply(ReadOnlySpan<byte> image, Span<float> output, ReadOnlySpan<float> lut)
    {
        float zero = lut[0];
        for (int p = 0; p < output.Length; p++)
        {
            float v = 0;
            for (int k = 0; k < 4; k++)
            {
                int s = _source[(p * 4) + k];
                v += _weight[(p * 4) + k] * (s < 0 ? zero : lut[image[s]]);
            }

            output[p] = v;
        }
    }
}
