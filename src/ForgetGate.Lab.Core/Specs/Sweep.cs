namespace ForgetGate.Lab.Core.Specs;

/// <summary>
/// A validated sweep before expansion: the single values and the swept lists. It counts its distinct points from
/// the list sizes alone and streams the points one at a time, so a sweep of millions of points is counted (and
/// refused) in microseconds and never held in memory whole.
/// </summary>
/// <remarks>
/// Two combinations of swept values give the same run exactly when they differ only in fields that do not apply to
/// them (drift options of a permuted point): swept values are distinct, and every applicable field is in the
/// config. So the distinct points are the combinations whose non-applicable swept fields sit at their first value,
/// which is the first of each group of duplicates in sweep order.
/// </remarks>
internal sealed class Sweep
{
    private readonly Dictionary<string, object> _singles;
    private readonly List<(string Path, List<object> Values)> _swept;
    private readonly SpecField[] _fields;
    private readonly IReadOnlyDictionary<string, string> _cells;

    public Sweep(Dictionary<string, object> singles, List<(string Path, List<object> Values)> swept, IReadOnlyDictionary<string, string>? cells = null)
    {
        _singles = singles;
        _swept = swept;
        _cells = cells ?? new Dictionary<string, string>();
        _fields = SpecSchema.Fields.Where(f => !SpecSchema.QueueFields.Contains(f.Path)).ToArray();
        Count = CountPoints();
    }

    /// <summary>The experiment name (validated, required).</summary>
    public string Name => (string)_singles["name"];

    /// <summary>Swept field paths in the order the spec gives them.</summary>
    public IReadOnlyList<string> SweptPaths => _swept.Select(s => s.Path).ToList();

    /// <summary>Distinct points (runs) the sweep expands to; saturates at <see cref="long.MaxValue"/>.</summary>
    public long Count { get; }

    /// <summary>Every value a field takes somewhere in the sweep (its list, its single value, or its default).</summary>
    public IEnumerable<object> PossibleValues(string path)
    {
        int k = _swept.FindIndex(s => s.Path == path);
        if (k >= 0)
        {
            return _swept[k].Values;
        }

        var single = _singles.TryGetValue(path, out var v) ? v : SpecSchema.Find(path)!.Default;
        return single is null ? [] : [single];
    }

    /// <summary>The points in sweep order (the last swept field varies fastest), duplicates skipped.</summary>
    public IEnumerable<SpecPoint> Enumerate()
    {
        var index = new int[_swept.Count];
        var sweptAt = _swept.Select((s, k) => (s.Path, k)).ToDictionary(p => p.Path, p => p.k, StringComparer.Ordinal);
        do
        {
            if (!IsFirstOfDuplicates(index, sweptAt))
            {
                continue;
            }

            var values = new Dictionary<string, object>(_fields.Length, StringComparer.Ordinal);
            foreach (var field in _fields)
            {
                object? v = sweptAt.TryGetValue(field.Path, out int k) ? _swept[k].Values[index[k]]
                    : _singles.TryGetValue(field.Path, out var s) ? s : field.Default;
                if (v is not null && !(field.OmittedAtDefault && v.Equals(field.Default)))
                {
                    values[field.Path] = v;
                }
            }

            // Drop fields that do not apply to this point (e.g. drift options of a permuted run).
            foreach (var field in _fields)
            {
                if (field.WhenPath is not null && !field.WhenValues.Contains((string)values[field.WhenPath]))
                {
                    values.Remove(field.Path);
                }
            }

            // A cell file's whole definition travels in the config, so its hash covers the equations.
            values.Remove("model.cell");
            if (values.TryGetValue("model.variant", out var variant) && _cells.TryGetValue((string)variant, out var cellJson))
            {
                values["model.cell"] = cellJson;
            }

            var config = RunConfig.FromValues(values);
            var factors = new Dictionary<string, string>(_swept.Count, StringComparer.Ordinal);
            for (int k = 0; k < _swept.Count; k++)
            {
                factors[_swept[k].Path] = SpecValues.Format(_swept[k].Values[index[k]]);
            }

            yield return new SpecPoint(config, config.CanonicalJson, config.Hash, factors);
        }
        while (Next(index));
    }

    /// <summary>
    /// Every distinct scenario of the sweep (values of the applicable <c>scenario.*</c> fields), for checks that
    /// depend on the scenario only: their number is the product of the swept scenario lists, not the sweep's size.
    /// </summary>
    public IEnumerable<IReadOnlyDictionary<string, object>> ScenarioCombinations()
    {
        var scenario = _fields.Where(f => f.Path.StartsWith("scenario.", StringComparison.Ordinal)).ToArray();
        var lists = scenario.Select(f => PossibleValues(f.Path).ToList()).ToArray();
        var index = new int[scenario.Length];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        do
        {
            var values = new Dictionary<string, object>(StringComparer.Ordinal);
            for (int k = 0; k < scenario.Length; k++)
            {
                if (lists[k].Count > 0)
                {
                    values[scenario[k].Path] = lists[k][index[k]];
                }
            }

            foreach (var field in scenario.Where(f => f.WhenPath is not null))
            {
                if (!field.WhenValues.Contains((string)values[field.WhenPath!]))
                {
                    values.Remove(field.Path);
                }
            }

            if (seen.Add(SpecValues.ToCanonicalJson(values)))
            {
                yield return values;
            }
        }
        while (Next(index, lists.Select(l => Math.Max(1, l.Count)).ToArray()));
    }

    private bool Next(int[] index) => Next(index, _swept.Select(s => s.Values.Count).ToArray());

    private static bool Next(int[] index, int[] sizes)
    {
        for (int k = index.Length - 1; k >= 0; k--)
        {
            if (++index[k] < sizes[k])
            {
                return true;
            }

            index[k] = 0;
        }

        return false;
    }

    /// <summary>False when a swept field that does not apply to this combination is not at its first value.</summary>
    private bool IsFirstOfDuplicates(int[] index, Dictionary<string, int> sweptAt)
    {
        for (int k = 0; k < _swept.Count; k++)
        {
            if (index[k] == 0)
            {
                continue;
            }

            var field = SpecSchema.Find(_swept[k].Path)!;
            if (field.WhenPath is not null && !field.WhenValues.Contains((string)ValueOf(field.WhenPath, index, sweptAt)))
            {
                return false;
            }
        }

        return true;
    }

    private object ValueOf(string path, int[] index, Dictionary<string, int> sweptAt) =>
        sweptAt.TryGetValue(path, out int k) ? _swept[k].Values[index[k]]
        : _singles.TryGetValue(path, out var s) ? s : SpecSchema.Find(path)!.Default!;

    /// <summary>
    /// Σ over the values of the controlling fields (those other fields depend on) of the product of the list sizes
    /// of the swept fields that apply there. Controlling fields are unconditional today; if one ever is not, the
    /// count falls back to walking the combinations.
    /// </summary>
    private long CountPoints()
    {
        var controllers = _swept.Select(s => SpecSchema.Find(s.Path)!.WhenPath).OfType<string>().Distinct(StringComparer.Ordinal).ToArray();
        if (controllers.Any(c => SpecSchema.Find(c)!.WhenPath is not null))
        {
            return Enumerate().LongCount();
        }

        var lists = controllers.Select(c => PossibleValues(c).ToList()).ToArray();
        var index = new int[controllers.Length];
        long total = 0;
        do
        {
            long product = 1;
            foreach (var (path, values) in _swept)
            {
                var field = SpecSchema.Find(path)!;
                int c = Array.IndexOf(controllers, path);
                bool applies = field.WhenPath is null || field.WhenValues.Contains((string)lists[Array.IndexOf(controllers, field.WhenPath)][index[Array.IndexOf(controllers, field.WhenPath)]]);
                if (c >= 0 || !applies)
                {
                    continue; // a controller's values are walked by the loop; a field that does not apply counts once
                }

                product = Saturating(product, values.Count);
            }

            total = total > long.MaxValue - product ? long.MaxValue : total + product;
        }
        while (Next(index, lists.Select(l => l.Count).ToArray()));
        return total;
    }

    private static long Saturating(long a, long b) => a > long.MaxValue / b ? long.MaxValue : a * b;
}
