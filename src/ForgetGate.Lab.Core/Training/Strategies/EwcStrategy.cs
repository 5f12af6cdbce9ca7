using System.Globalization;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Random;

namespace ForgetGate.Lab.Core.Training.Strategies;

/// <summary>
/// Online EWC (Schwarz et al. 2018): after each task, F ← γ·F + F_task with F_task the empirical diagonal
/// Fisher (mean squared per-sample gradient over <c>fisherSamples</c> training samples), θ* ← θ.
/// Penalty (λ/2)·Σ F·(θ − θ*)², gradient λ·F·(θ − θ*).
/// </summary>
internal sealed class EwcStrategy : ContinualStrategy
{
    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly double _lambda;
    private readonly double _gamma;
    private readonly int _fisherSamples;
    private readonly float[][] _fisher;
    private readonly float[][] _anchor;
    private bool _active;

    public EwcStrategy(IReadOnlyList<Parameter> parameters, double lambda, double gamma, int fisherSamples)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentOutOfRangeException.ThrowIfNegative(lambda);
        ArgumentOutOfRangeException.ThrowIfLessThan(fisherSamples, 1);
        if (gamma is < 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "EWC gamma must lie in [0, 1].");
        }

        _parameters = parameters;
        _lambda = lambda;
        _gamma = gamma;
        _fisherSamples = fisherSamples;
        _fisher = parameters.Select(p => new float[p.Length]).ToArray();
        _anchor = parameters.Select(p => new float[p.Length]).ToArray();
    }

    public override string Kind => "ewc";

    public override double AdjustGradients(IReadOnlyList<Parameter> parameters)
    {
        if (!_active)
        {
            return 0;
        }

        double penalty = 0;
        float lambda = (float)_lambda;
        for (int p = 0; p < parameters.Count; p++)
        {
            var value = parameters[p].Value;
            var grad = parameters[p].Gradient;
            var fisher = _fisher[p];
            var anchor = _anchor[p];
            for (int i = 0; i < value.Length; i++)
            {
                float d = value[i] - anchor[i];
                float fd = fisher[i] * d;
                grad[i] = MathF.FusedMultiplyAdd(lambda, fd, grad[i]);
                penalty += (double)fd * d;
            }
        }

        return 0.5 * _lambda * penalty;
    }

    public override StrategyFigures Figures => new(0, 0, 2L * sizeof(float) * _fisher.Sum(f => (long)f.Length));

    public override void AfterTask(int task, Rng root, IStrategyModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var gradients = model;
        int n = model.Data.Count(task, DataSplit.Train);
        var order = new int[n];
        for (int i = 0; i < n; i++)
        {
            order[i] = i;
        }

        root.Split($"fisher/{task}").Shuffle<int>(order);
        int m = Math.Min(_fisherSamples, n);
        var samples = order.Take(m).Select(i => new SampleRef(task, i)).ToList();
        var taskFisher = _parameters.Select(p => new float[p.Length]).ToArray();
        gradients.AccumulateSquaredGradients(samples, taskFisher);

        float gamma = _active ? (float)_gamma : 0f;
        float scale = 1f / m;
        for (int p = 0; p < _parameters.Count; p++)
        {
            for (int i = 0; i < _fisher[p].Length; i++)
            {
                _fisher[p][i] = MathF.FusedMultiplyAdd(gamma, _fisher[p][i], taskFisher[p][i] * scale);
            }

            _parameters[p].Value.AsSpan().CopyTo(_anchor[p]);
        }

        _active = true;
    }

    public override void Save(IDictionary<string, float[]> tensors, IDictionary<string, string> metadata)
    {
        metadata["ewc.active"] = _active ? "1" : "0";
        for (int p = 0; p < _parameters.Count; p++)
        {
            tensors["ewc.fisher." + _parameters[p].Name] = _fisher[p];
            tensors["ewc.anchor." + _parameters[p].Name] = _anchor[p];
        }
    }

    public override void Load(IReadOnlyDictionary<string, float[]> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        _active = metadata.TryGetValue("ewc.active", out var a) && a == "1";
        for (int p = 0; p < _parameters.Count; p++)
        {
            Copy("ewc.fisher." + _parameters[p].Name, _fisher[p]);
            Copy("ewc.anchor." + _parameters[p].Name, _anchor[p]);
        }

        void Copy(string name, float[] destination)
        {
            if (!tensors.TryGetValue(name, out var source) || source.Length != destination.Length)
            {
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"Checkpoint lacks EWC tensor '{name}' of {destination.Length} values."));
            }

            source.AsSpan().CopyTo(destination);
        }
    }
}
