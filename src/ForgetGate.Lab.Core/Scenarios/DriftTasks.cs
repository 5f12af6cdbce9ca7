using ForgetGate.Lab.Core.Training;
using ForgetGate.Lab.Numerics.Random;

namespace ForgetGate.Lab.Core.Scenarios;

/// <summary>How regimes change from task to task.</summary>
public enum DriftKind
{
    /// <summary>A new regime per task.</summary>
    Abrupt,

    /// <summary>Parameters interpolate from the first regime to the last across tasks.</summary>
    Gradual,

    /// <summary>Two regimes alternate: A B A B …</summary>
    Recurring,
}

/// <summary>Generator family of a regime.</summary>
public enum RegimeFamily
{
    /// <summary>A sum of three sinusoids (amplitude, frequency, phase per component).</summary>
    Sinusoid,

    /// <summary>A stationary AR(2) process.</summary>
    Autoregressive,
}

/// <summary>Options of a drifting time-series scenario.</summary>
public sealed record DriftOptions(DriftKind Kind, RegimeFamily Family, int Tasks, int TrainPerTask, int TestPerTask, int Window, int Horizon, double Noise, double ValidationFraction = 0);

/// <summary>The parameters of one regime; identical parameters generate identical clean signals.</summary>
public sealed record Regime(RegimeFamily Family, double[] Amplitudes, double[] Frequencies, double[] Phases, double Phi1, double Phi2)
{
    /// <summary>A random regime drawn from <paramref name="rng"/>: sinusoid frequencies in [0.01, 0.2] cycles/step; AR(2) roots inside the unit circle.</summary>
    public static Regime Draw(RegimeFamily family, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var amplitudes = new double[3];
        var frequencies = new double[3];
        var phases = new double[3];
        for (int k = 0; k < 3; k++)
        {
            amplitudes[k] = rng.Uniform(0.2, 1.0);
            frequencies[k] = rng.Uniform(0.01, 0.2);
            phases[k] = rng.Uniform(0, 2 * Math.PI);
        }

        // AR(2) from two real roots r1, r2 in (−0.9, 0.9): x_t = (r1 + r2) x_{t−1} − r1 r2 x_{t−2} + e_t is stationary.
        double r1 = rng.Uniform(-0.9, 0.9), r2 = rng.Uniform(-0.9, 0.9);
        return new Regime(family, amplitudes, frequencies, phases, r1 + r2, -r1 * r2);
    }

    /// <summary>Linear interpolation between two regimes (gradual drift).</summary>
    public static Regime Lerp(Regime a, Regime b, double t)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        static double[] L(double[] x, double[] y, double t) => x.Zip(y, (u, v) => u + ((v - u) * t)).ToArray();
        return new Regime(a.Family, L(a.Amplitudes, b.Amplitudes, t), L(a.Frequencies, b.Frequencies, t), L(a.Phases, b.Phases, t),
            a.Phi1 + ((b.Phi1 - a.Phi1) * t), a.Phi2 + ((b.Phi2 - a.Phi2) * t));
    }

    /// <summary>Generates <paramref name="length"/> values with observation (sinusoid) or innovation (AR) noise of std <paramref name="noise"/>.</summary>
    public float[] Generate(int length, double noise, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var series = new float[length];
        if (Family == RegimeFamily.Sinusoid)
        {
            double start = rng.Uniform(0, 1000);
            for (int i = 0; i < length; i++)
            {
                double t = start + i, v = 0;
                for (int k = 0; k < Amplitudes.Length; k++)
                {
                    v += Amplitudes[k] * Math.Sin((2 * Math.PI * Frequencies[k] * t) + Phases[k]);
                }

                series[i] = (float)(v + (noise * rng.NextGaussian()));
            }

            return series;
        }

        // Unit-variance innovations scaled by the noise level would vanish at noise 0; AR regimes always need shocks.
        double sigma = Math.Max(noise, 0.05) * 4;
        double x1 = 0, x2 = 0;
        for (int i = -200; i < length; i++)
        {
            double x = (Phi1 * x1) + (Phi2 * x2) + (sigma * rng.NextGaussian());
            x2 = x1;
            x1 = x;
            if (i >= 0)
            {
                series[i] = (float)x;
            }
        }

        return series;
    }
}

/// <summary>
/// Drifting time series as regression tasks: each sample is a window of <c>Window</c> values (T = Window, D = 1),
/// the target the next <c>Horizon</c> values. Train and test series of each task are generated separately from
/// named streams of the seed; a recurring regime reuses the exact same parameters.
/// </summary>
public sealed class DriftTasks : ITaskSource
{
    private readonly DriftOptions _options;
    private readonly float[][] _train;
    private readonly float[][] _test;
    private readonly int[] _validationStart;

    /// <summary>Generates every task's series from <paramref name="seed"/>.</summary>
    public DriftTasks(DriftOptions options, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Tasks < 1 || options.Window < 1 || options.Horizon < 1 || options.TrainPerTask < 1 || options.TestPerTask < 1)
        {
            throw new ArgumentException($"Drift options must be positive: {options}.", nameof(options));
        }

        _options = options;
        var rng = new Rng(seed).Split("scenario");
        int distinct = options.Kind switch { DriftKind.Abrupt => options.Tasks, DriftKind.Recurring => Math.Min(2, options.Tasks), _ => 2 };
        var regimes = Enumerable.Range(0, distinct).Select(r => Regime.Draw(options.Family, rng.Split($"regime/{r}"))).ToArray();
        Regimes = Enumerable.Range(0, options.Tasks).Select(t => options.Kind switch
        {
            DriftKind.Abrupt => regimes[t],
            DriftKind.Recurring => regimes[t % distinct],
            _ => Regime.Lerp(regimes[0], regimes[1], options.Tasks == 1 ? 0 : t / (double)(options.Tasks - 1)),
        }).ToArray();

        int span = options.Window + options.Horizon;
        _train = new float[options.Tasks][];
        _test = new float[options.Tasks][];
        _validationStart = new int[options.Tasks];
        for (int t = 0; t < options.Tasks; t++)
        {
            _train[t] = Regimes[t].Generate(options.TrainPerTask + span - 1, options.Noise, rng.Split($"train/{t}"));
            _test[t] = Regimes[t].Generate(options.TestPerTask + span - 1, options.Noise, rng.Split($"test/{t}"));
            _validationStart[t] = options.TrainPerTask - (int)Math.Round(options.TrainPerTask * options.ValidationFraction);
        }
    }

    /// <summary>The regime of each task.</summary>
    public IReadOnlyList<Regime> Regimes { get; }

    /// <summary>The training series of a task (for inspection and tests).</summary>
    public ReadOnlySpan<float> TrainSeries(int task) => _train[task];

    /// <inheritdoc />
    public int TaskCount => _options.Tasks;

    /// <inheritdoc />
    public int Steps => _options.Window;

    /// <inheritdoc />
    public int InputSize => 1;

    /// <inheritdoc />
    public int Outputs => _options.Horizon;

    /// <inheritdoc />
    public bool IsRegression => true;

    /// <inheritdoc />
    public int Count(int task, DataSplit split) => split switch
    {
        DataSplit.Train => _validationStart[task],
        DataSplit.Validation => _options.TrainPerTask - _validationStart[task],
        _ => _options.TestPerTask,
    };

    /// <inheritdoc />
    public ReadOnlySpan<int> AllowedClasses(int task) => [];

    /// <inheritdoc />
    public void FillBatch(int task, DataSplit split, ReadOnlySpan<int> indices, Span<float> x, Span<int> labels, Span<float> targets)
    {
        int l = _options.Window, h = _options.Horizon;
        if (x.Length < indices.Length * l || targets.Length < indices.Length * h)
        {
            throw new ArgumentException($"Batch buffers hold {x.Length} inputs and {targets.Length} targets; {indices.Length} windows need {indices.Length * l} and {indices.Length * h}.");
        }

        var series = split == DataSplit.Test ? _test[task] : _train[task];
        int offset = split == DataSplit.Validation ? _validationStart[task] : 0;
        for (int i = 0; i < indices.Length; i++)
        {
            int start = offset + indices[i];
            series.AsSpan(start, l).CopyTo(x.Slice(i * l, l));
            series.AsSpan(start + l, h).CopyTo(targets.Slice(i * h, h));
        }
    }
}
