using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using ForgetGate.Lab.Core.Cells;
using ForgetGate.Lab.Numerics.Cells;
using ForgetGate.Lab.Numerics.Models;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ForgetGate.Lab.Core.Specs;

/// <summary>One point of a spec's sweep: its resolved config, canonical JSON, hash, and the swept values that name it.</summary>
public sealed record SpecPoint(RunConfig Config, string CanonicalJson, string ConfigHash, IReadOnlyDictionary<string, string> Factors);

/// <summary>
/// A validated experiment spec and the runs it expands to (duplicates removed). <see cref="PointCount"/> is known
/// without expanding; <see cref="EnumeratePoints"/> streams the points and <see cref="Points"/> holds them all.
/// </summary>
public sealed record ExperimentSpec(string File, string Name, string Description, string Text, string TextHash, int MaxAttempts, int Priority, long PointCount, IReadOnlyList<string> SweptPaths)
{
    private IReadOnlyList<SpecPoint>? _points;

    internal Func<IEnumerable<SpecPoint>> Expand { get; init; } = () => [];

    /// <summary>Every point, in sweep order (expanded on first use).</summary>
    public IReadOnlyList<SpecPoint> Points => _points ??= Expand().ToList();

    /// <summary>The points one at a time, without holding them all.</summary>
    public IEnumerable<SpecPoint> EnumeratePoints() => _points ?? Expand();
}

/// <summary>
/// Reads experiment specs (YAML): every field is checked against <see cref="SpecSchema"/>, every problem is reported
/// with file, line, field path, value and what is allowed, and a spec with any problem yields no runs.
/// Lists (inline, or under <c>sweep:</c> keyed by path) are swept as a cartesian product.
/// </summary>
public static class SpecReader
{
    /// <summary>Sweeps larger than this are refused unless the caller lifts the limit (<c>--max-runs</c>).</summary>
    public const long DefaultMaxRuns = 10_000;

    /// <summary>Reads and validates a spec file, applying <c>path=value</c> overrides first; a sweep of more than <paramref name="maxRuns"/> points is an error.</summary>
    public static ExperimentSpec ReadFile(string path, IEnumerable<string>? overrides = null, long maxRuns = DefaultMaxRuns)
    {
        ArgumentNullException.ThrowIfNull(path);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SpecValidationException([new SpecError(path, 0, "(file)", "cannot be read: " + e.Message)]);
        }

        return Parse(text, path, overrides, maxRuns);
    }

    /// <summary>Parses spec text; <paramref name="file"/> names it in errors.</summary>
    public static ExperimentSpec Parse(string text, string file, IEnumerable<string>? overrides = null, long maxRuns = DefaultMaxRuns)
    {
        ArgumentNullException.ThrowIfNull(text);
        var errors = new List<SpecError>();
        var inlineCells = new Dictionary<string, CellCheckResult>(StringComparer.Ordinal);
        var raw = ReadYaml(text, file, errors, out bool syntaxOk, inlineCells);
        if (!syntaxOk)
        {
            throw new SpecValidationException(errors);
        }

        // Structural and override problems are reported together with every value problem.
        var parsedOverrides = ParseOverrides(overrides ?? [], errors);
        var sweep = ResolveSweep(file, raw, parsedOverrides, errors, maxRuns, cells: CellCatalog.ForSpec(file, inlineCells));
        var queue = ResolveQueueFields(file, raw, parsedOverrides);
        return new ExperimentSpec(
            file, sweep.Name, queue.Description, text,
            Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text))), queue.MaxAttempts, queue.Priority, sweep.Count, sweep.SweptPaths)
        {
            Expand = sweep.Enumerate,
        };
    }

    /// <summary>Validates raw values (after overrides) and expands them into deduplicated sweep points.</summary>
    internal static IReadOnlyList<SpecPoint> Resolve(string file, IReadOnlyList<(string Path, RawValue Value)> raw, IReadOnlyList<(string Path, RawValue Value)> overrides, IEnumerable<SpecError>? earlier = null) =>
        ResolveSweep(file, raw, overrides, earlier, long.MaxValue, checkName: false).Enumerate().ToList();

    /// <summary>
    /// Validates raw values (after overrides), counts the sweep's distinct points without expanding it, refuses
    /// more than <paramref name="maxRuns"/>, checks every point's scenario against the dataset, and returns the sweep.
    /// </summary>
    internal static Sweep ResolveSweep(string file, IReadOnlyList<(string Path, RawValue Value)> raw, IReadOnlyList<(string Path, RawValue Value)> overrides, IEnumerable<SpecError>? earlier, long maxRuns, bool checkName = true, CellCatalog? cells = null)
    {
        var errors = new List<SpecError>(earlier ?? []);
        cells ??= new CellCatalog(new Dictionary<string, CellCheckResult>(), []);
        var cellJson = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, result) in cells.Inline)
        {
            AddCellErrors(result, "cells." + name, errors);
        }

        // A stored config carries its cell's definition (model.cell); a spec names the cell and never writes it.
        var storedCell = raw.Concat(overrides).LastOrDefault(r => r.Path == "model.cell");
        if (storedCell.Value is not null)
        {
            if (checkName)
            {
                errors.Add(new SpecError(file, storedCell.Value.Line, "model.cell", "is filled in from the cell file model.variant names; name the cell in model.variant and define it under cells: or in experiments/cells/<name>.yaml"));
            }
            else
            {
                try
                {
                    var graph = CellGraph.Compile(CellDefinition.FromJson(storedCell.Value.Items[0].Text, $"{file}: model.cell"));
                    cellJson[graph.Name] = graph.Definition.ToJson();
                }
                catch (CellDefinitionException e)
                {
                    errors.Add(new SpecError(file, 0, "model.cell", e.Message));
                }
            }
        }
        var merged = new List<(string Path, RawValue Value, string Source)>();
        foreach (var (p, v) in raw)
        {
            merged.Add((p, v, file));
        }

        foreach (var (p, v) in overrides)
        {
            merged.RemoveAll(m => m.Path == p);
            merged.Add((p, v, "--set"));
        }

        // Validate every value of every field, collecting all problems.
        var singles = new Dictionary<string, object>(StringComparer.Ordinal);
        var swept = new List<(string Path, List<object> Values)>();
        var explicitlySet = new Dictionary<string, (int Line, string Source)>(StringComparer.Ordinal);
        foreach (var (path, value, source) in merged)
        {
            var field = SpecSchema.Find(path);
            if (field is null)
            {
                string where = path.Contains('.', StringComparison.Ordinal) ? path[..path.LastIndexOf('.')] : "";
                var siblings = SpecSchema.Fields.Select(f => f.Path)
                    .Where(f => (where.Length == 0 ? !f.Contains('.', StringComparison.Ordinal) : f.StartsWith(where + ".", StringComparison.Ordinal)))
                    .ToList();
                errors.Add(new SpecError(source, value.Line, path, "unknown field" + SpecValues.Suggest(path, siblings.Count > 0 ? siblings : SpecSchema.Fields.Select(f => f.Path))
                    + (siblings.Count > 0 ? $"; fields here: {string.Join(", ", siblings)}" : "")));
                continue;
            }

            if (value.IsList && !field.Sweepable)
            {
                errors.Add(new SpecError(source, value.Line, path, $"cannot be swept; give a single value ({field.Allowed()})"));
                continue;
            }

            if (value.IsList && value.Items.Count == 0)
            {
                errors.Add(new SpecError(source, value.Line, path, "an empty list sweeps over nothing; give at least one value"));
                continue;
            }

            if (path == "model.cell")
            {
                continue;   // handled above
            }

            var converted = new List<object>();
            foreach (var item in value.Items)
            {
                if (path == "model.variant" && !Variants.TryParse(item.Text.Trim(), out _))
                {
                    string cellName = item.Text.Trim();
                    if (cellJson.ContainsKey(cellName))
                    {
                        converted.Add(cellName);
                        continue;
                    }

                    var found = cells.Find(cellName);
                    if (found is not null)
                    {
                        if (found.Graph is not null)
                        {
                            cellJson[cellName] = found.Graph.Definition.ToJson();
                            converted.Add(cellName);
                        }
                        else if (!cells.Inline.ContainsKey(cellName))
                        {
                            AddCellErrors(found, "cells." + cellName, errors);
                        }

                        continue;
                    }

                    errors.Add(new SpecError(source, item.Line > 0 ? item.Line : value.Line, path,
                        $"'{cellName}' is neither a built-in variant ({string.Join(", ", Variants.All.Select(x => x.Name()))}) nor a cell: the spec has no cells.{cellName} and there is no {cellName}.yaml in {string.Join(" or ", cells.Folders)}"
                        + SpecValues.Suggest(cellName, Variants.All.Select(x => x.Name()))));
                    continue;
                }

                if (SpecValues.TryConvert(field, item, out var v, out var error))
                {
                    // A stored config keeps the name it was queued with, so only specs are held to the rule.
                    if (checkName && path == "name" && SpecNames.Problem((string)v) is { } unsafeName)
                    {
                        errors.Add(new SpecError(source, item.Line > 0 ? item.Line : value.Line, path, unsafeName));
                        continue;
                    }

                    converted.Add(v);
                }
                else
                {
                    errors.Add(new SpecError(source, item.Line > 0 ? item.Line : value.Line, path, error));
                }
            }

            explicitlySet[path] = (value.Line, source);
            if (value.IsList)
            {
                swept.Add((path, converted.Distinct().ToList()));
            }
            else if (converted.Count == 1)
            {
                singles[path] = converted[0];
            }
        }

        foreach (var field in SpecSchema.Fields.Where(f => f.Required && !explicitlySet.ContainsKey(f.Path)))
        {
            errors.Add(new SpecError(file, 0, field.Path, $"is required ({field.Description})"));
        }

        if (errors.Count > 0)
        {
            throw new SpecValidationException(errors);
        }

        var sweep = new Sweep(singles, swept, cellJson);

        // Fields set explicitly that apply to no point are a mistake (e.g. strategy.lambda without ewc).
        foreach (var (path, (line, source)) in explicitlySet)
        {
            var field = SpecSchema.Find(path)!;
            if (field.WhenPath is not null && !sweep.PossibleValues(field.WhenPath).Any(v => field.WhenValues.Contains((string)v)))
            {
                errors.Add(new SpecError(source, line, path, $"applies only when {field.WhenPath} is {string.Join(" or ", field.WhenValues)}"
                    + (field.NotApplicableReason is { } reason ? "; " + reason : "")));
            }
        }

        if (errors.Count == 0 && sweep.Count > maxRuns)
        {
            string product = string.Join(" × ", swept.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Values.Count} {s.Path}")));
            errors.Add(new SpecError(file, 0, "sweep", string.Create(CultureInfo.InvariantCulture,
                $"expands to {sweep.Count:N0} runs ({product}), more than the limit of {maxRuns:N0}; narrow the sweep, or pass --max-runs {sweep.Count} if you mean it")));
        }

        // Dataset sizes: checked on every distinct scenario the sweep holds (cheap: a product of the scenario fields only).
        if (errors.Count == 0)
        {
            var reported = new HashSet<(string, string)>();
            foreach (var values in sweep.ScenarioCombinations())
            {
                foreach (var (path, message) in DatasetLimits.Check(values))
                {
                    if (reported.Add((path, message)))
                    {
                        var at = explicitlySet.TryGetValue(path, out var where) ? where : (0, file);
                        errors.Add(new SpecError(at.Item2, at.Item1, path, message));
                    }
                }
            }
        }

        if (errors.Count > 0)
        {
            throw new SpecValidationException(errors);
        }

        return sweep;
    }

    private static (string Description, int MaxAttempts, int Priority) ResolveQueueFields(string file, IReadOnlyList<(string Path, RawValue Value)> raw, IReadOnlyList<(string Path, RawValue Value)> overrides)
    {
        object Get(string path)
        {
            var field = SpecSchema.Find(path)!;
            var entry = overrides.Concat(raw).FirstOrDefault(r => r.Path == path);
            if (entry.Value is null)
            {
                return field.Default!;
            }

            SpecValues.TryConvert(field, entry.Value.Items[0], out var v, out _); // already validated by Resolve
            return v;
        }

        return ((string)Get("description"), checked((int)(long)Get("max_attempts")), checked((int)(long)Get("priority")));
    }

    /// <summary>Parses <c>path=value</c> overrides; a value in brackets is a list (<c>model.variant=[lstm,gru]</c>).</summary>
    internal static IReadOnlyList<(string Path, RawValue Value)> ParseOverrides(IEnumerable<string> overrides, List<SpecError> errors)
    {
        var result = new List<(string, RawValue)>();
        foreach (var o in overrides)
        {
            int eq = o.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                errors.Add(new SpecError("--set", 0, o, "expected field.path=value, e.g. --set training.optimizer.lr=3e-4"));
                continue;
            }

            string path = o[..eq].Trim();
            string value = o[(eq + 1)..].Trim();
            if (value.StartsWith('[') && value.EndsWith(']'))
            {
                var items = value[1..^1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(v => new RawScalar(v, false, 0)).ToList();
                result.Add((path, new RawValue(items, true, 0)));
            }
            else
            {
                result.Add((path, RawValue.Of(new RawScalar(value, false, 0))));
            }
        }

        return result;
    }

    /// <summary>A cell's problems as spec errors, each with its file, line and column.</summary>
    private static void AddCellErrors(CellCheckResult result, string path, List<SpecError> errors)
    {
        foreach (var d in result.Diagnostics)
        {
            errors.Add(new SpecError(d.Location.File, d.Location.Line, path, d.Message, d.Location.Column));
        }
    }

    private static List<(string Path, RawValue Value)> ReadYaml(string text, string file, List<SpecError> errors, out bool syntaxOk, Dictionary<string, CellCheckResult>? cells = null)
    {
        syntaxOk = false;
        var result = new List<(string, RawValue)>();
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            errors.Add(new SpecError(file, (int)e.Start.Line, "(yaml)", "is not valid YAML: " + e.Message));
            return result;
        }

        if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            errors.Add(new SpecError(file, 1, "(root)", "a spec is one YAML mapping (name:, scenario:, model:, …)"));
            return result;
        }

        syntaxOk = true;

        foreach (var (keyNode, valueNode) in root.Children)
        {
            string key = ((YamlScalarNode)keyNode).Value ?? "";
            if (key == "cells" && cells is not null)
            {
                if (valueNode is not YamlMappingNode cellMap)
                {
                    errors.Add(new SpecError(file, Line(valueNode), "cells", "expected a mapping of cell names to cell definitions (gates:, states:, step:, forget:, …)"));
                    continue;
                }

                foreach (var (nameNode, cellNode) in cellMap.Children)
                {
                    string name = ((YamlScalarNode)nameNode).Value ?? "";
                    if (cellNode is not YamlMappingNode cellBody)
                    {
                        errors.Add(new SpecError(file, Line(cellNode), "cells." + name, "expected a cell definition mapping (gates:, states:, step:, forget:, …)"));
                        continue;
                    }

                    if (Variants.TryParse(name, out var builtIn))
                    {
                        errors.Add(new SpecError(file, Line(nameNode), "cells." + name, $"collides with the built-in variant '{builtIn.Name()}'; give the cell another name"));
                        continue;
                    }

                    cells[name] = CellFileReader.FromNode(cellBody, file, text, name);
                }

                continue;
            }

            if (key == "sweep")
            {
                if (valueNode is not YamlMappingNode sweep)
                {
                    errors.Add(new SpecError(file, Line(valueNode), "sweep", "expected a mapping of field paths to lists, e.g. model.variant: [lstm, gru]"));
                    continue;
                }

                foreach (var (pathNode, listNode) in sweep.Children)
                {
                    string path = ((YamlScalarNode)pathNode).Value ?? "";
                    if (listNode is not YamlSequenceNode)
                    {
                        errors.Add(new SpecError(file, Line(listNode), "sweep." + path, "expected a list of values to sweep over"));
                        continue;
                    }

                    AddValue(path, listNode);
                }

                continue;
            }

            Walk(key, valueNode);
        }

        return result;

        void Walk(string path, YamlNode node)
        {
            if (node is YamlMappingNode map)
            {
                if (SpecSchema.Find(path) is { } leaf)
                {
                    errors.Add(new SpecError(file, Line(node), path, $"expected a single value ({leaf.Allowed()}), not a mapping"));
                    return;
                }

                foreach (var (k, v) in map.Children)
                {
                    Walk(path + "." + (((YamlScalarNode)k).Value ?? ""), v);
                }

                return;
            }

            if (SpecSchema.IsSection(path))
            {
                errors.Add(new SpecError(file, Line(node), path, $"is a section; expected a mapping with fields like {SpecSchema.Fields.First(f => f.Path.StartsWith(path + ".", StringComparison.Ordinal)).Path}"));
                return;
            }

            AddValue(path, node);
        }

        void AddValue(string path, YamlNode node)
        {
            switch (node)
            {
                case YamlScalarNode s:
                    result.Add((path, RawValue.Of(Scalar(s))));
                    break;
                case YamlSequenceNode seq:
                    var items = new List<RawScalar>();
                    foreach (var item in seq.Children)
                    {
                        if (item is YamlScalarNode si)
                        {
                            items.Add(Scalar(si));
                        }
                        else
                        {
                            errors.Add(new SpecError(file, Line(item), path, "list items must be single values"));
                        }
                    }

                    result.Add((path, new RawValue(items, true, Line(node))));
                    break;
                default:
                    errors.Add(new SpecError(file, Line(node), path, "unexpected YAML node"));
                    break;
            }
        }

        static RawScalar Scalar(YamlScalarNode s) =>
            new(s.Value ?? "", s.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted, Line(s));

        static int Line(YamlNode node) => (int)node.Start.Line;
    }
}
