using System.Globalization;
using ForgetGate.Lab.Numerics.Models;

namespace ForgetGate.Lab.Core.Training.Strategies;

/// <summary>One float array per parameter (snapshots, importances, running sums), saved under <c>prefix + parameter name</c>.</summary>
internal sealed class ParameterArrays
{
    private readonly IReadOnlyList<Parameter> _parameters;

    public ParameterArrays(IReadOnlyList<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _parameters = parameters;
        Arrays = parameters.Select(p => new float[p.Length]).ToArray();
    }

    public float[][] Arrays { get; }

    public float[] this[int p] => Arrays[p];

    public long Bytes => sizeof(float) * Arrays.Sum(a => (long)a.Length);

    /// <summary>Copies the parameters' current values in.</summary>
    public void CopyValues()
    {
        for (int p = 0; p < _parameters.Count; p++)
        {
            _parameters[p].Value.AsSpan().CopyTo(Arrays[p]);
        }
    }

    public void Clear()
    {
        foreach (var a in Arrays)
        {
            Array.Clear(a);
        }
    }

    public void Save(string prefix, IDictionary<string, float[]> tensors)
    {
        for (int p = 0; p < _parameters.Count; p++)
        {
            tensors[prefix + _parameters[p].Name] = Arrays[p];
        }
    }

    public void Load(string prefix, IReadOnlyDictionary<string, float[]> tensors)
    {
        for (int p = 0; p < _parameters.Count; p++)
        {
            string name = prefix + _parameters[p].Name;
            if (!tensors.TryGetValue(name, out var source) || source.Length != Arrays[p].Length)
            {
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"Checkpoint lacks strategy tensor '{name}' of {Arrays[p].Length} values."));
            }

            source.AsSpan().CopyTo(Arrays[p]);
        }
    }
}
