using System.Collections.Immutable;
using ForgetGate.Lab.Numerics.Cells;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ForgetGate.Lab.Core.Cells;

/// <summary>
/// Reads cell definitions from YAML (a file <c>experiments/cells/&lt;name&gt;.yaml</c>, or an entry of a spec's
/// top-level <c>cells:</c> map) into <see cref="CellDefinition"/>s with the file, line and column of every part, then
/// checks them with <see cref="CellChecker"/>. Every problem, structural or in the equations, comes back at once.
/// </summary>
public static class CellFileReader
{
    /// <summary>The keys a cell mapping may have.</summary>
    public static IReadOnlyList<string> Keys { get; } = ["name", "description", "gates", "input_only", "states", "params", "init", "step", "forget"];

    /// <summary>Reads and checks a cell file; the result holds the graph or every problem.</summary>
    public static CellCheckResult ReadFile(string path, string? expectedName = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Fail(new CellLocation(path, 0, 0), $"cannot be read: {e.Message}");
        }

        return Parse(text, path, expectedName);
    }

    /// <summary>Parses and checks cell YAML text; <paramref name="file"/> names it in diagnostics.</summary>
    public static CellCheckResult Parse(string text, string file, string? expectedName = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            return Fail(new CellLocation(file, (int)e.Start.Line, (int)e.Start.Column), "is not valid YAML: " + e.Message);
        }

        if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            return Fail(new CellLocation(file, 1, 1), "a cell file is one YAML mapping (name:, gates:, states:, step:, forget:, …).");
        }

        return FromNode(root, file, text, expectedName);
    }

    /// <summary>Reads and checks one cell mapping of YAML <paramref name="text"/> (the whole file, for columns of block scalars).</summary>
    public static CellCheckResult FromNode(YamlMappingNode node, string file, string text, string? expectedName)
    {
        ArgumentNullException.ThrowIfNull(node);
        var diagnostics = new List<CellDiagnostic>();
        var def = ToDefinition(node, file, text, expectedName, diagnostics);
        var checkedCell = CellChecker.Check(def);
        if (diagnostics.Count == 0)
        {
            return checkedCell;
        }

        return new CellCheckResult(null, [.. diagnostics.Concat(checkedCell.Diagnostics).OrderBy(d => d.Location.Line).ThenBy(d => d.Location.Column)]);
    }

    private static CellCheckResult Fail(CellLocation at, string message) => new(null, [new CellDiagnostic(at, message)]);

    private static CellLocation At(string file, YamlNode node) => new(file, (int)node.Start.Line, (int)node.Start.Column);

    private static CellDefinition ToDefinition(YamlMappingNode node, string file, string text, string? expectedName, List<CellDiagnostic> diagnostics)
    {
        var where = At(file, node);
        CellName? name = null;
        string description = "";
        var gates = ImmutableArray<CellName>.Empty;
        var inputOnly = ImmutableArray<CellName>.Empty;
        var states = ImmutableArray<CellName>.Empty;
        var parameters = ImmutableArray<CellInitEntry>.Empty;
        var init = ImmutableArray<CellInitEntry>.Empty;
        var step = ImmutableArray<CellStepLine>.Empty;
        CellName? forget = null;
        foreach (var (k, v) in node.Children)
        {
            string key = (k as YamlScalarNode)?.Value ?? "";
            switch (key)
            {
                case "name":
                    name = Scalar(v, file, key, diagnostics);
                    break;
                case "description":
                    description = Scalar(v, file, key, diagnostics)?.Text ?? "";
                    break;
                case "gates":
                    gates = Names(v, file, key, diagnostics);
                    break;
                case "input_only":
                    inputOnly = Names(v, file, key, diagnostics);
                    break;
                case "states":
                    states = Names(v, file, key, diagnostics);
                    break;
                case "params":
                    parameters = Map(v, file, key, diagnostics);
                    break;
                case "init":
                    init = Map(v, file, key, diagnostics);
                    break;
                case "step":
                    step = Step(v, file, text, diagnostics);
                    break;
                case "forget":
                    forget = Scalar(v, file, key, diagnostics);
                    break;
                default:
                    diagnostics.Add(new CellDiagnostic(At(file, k), $"unknown key '{key}' in a cell; keys: {string.Join(", ", Keys)}."));
                    break;
            }
        }

        if (expectedName is not null)
        {
            if (name is null)
            {
                name = new CellName(expectedName, where);
            }
            else if (name.Text != expectedName)
            {
                diagnostics.Add(new CellDiagnostic(name.Location, $"name '{name.Text}' differs from '{expectedName}', the name this cell is found by; make them equal."));
            }
        }

        if (step.IsEmpty && !node.Children.Keys.OfType<YamlScalarNode>().Any(s => s.Value == "step"))
        {
            diagnostics.Add(new CellDiagnostic(where, "step: is missing; write the cell's equations, one line per new value (h' = …)."));
        }

        return new CellDefinition(name ?? new CellName("", where), description, gates, inputOnly, states, parameters, init, step, forget, where);
    }

    private static CellName? Scalar(YamlNode v, string file, string key, List<CellDiagnostic> diagnostics)
    {
        if (v is YamlScalarNode s)
        {
            return new CellName(s.Value ?? "", At(file, s));
        }

        diagnostics.Add(new CellDiagnostic(At(file, v), $"{key}: expected a single value."));
        return null;
    }

    private static ImmutableArray<CellName> Names(YamlNode v, string file, string key, List<CellDiagnostic> diagnostics)
    {
        if (v is YamlScalarNode { Value: null or "" or "[]" })
        {
            return [];
        }

        if (v is not YamlSequenceNode seq)
        {
            diagnostics.Add(new CellDiagnostic(At(file, v), $"{key}: expected a list of names, e.g. [i, f, g, o]."));
            return [];
        }

        var result = ImmutableArray.CreateBuilder<CellName>();
        foreach (var item in seq.Children)
        {
            if (item is YamlScalarNode s)
            {
                result.Add(new CellName(s.Value ?? "", At(file, s)));
            }
            else
            {
                diagnostics.Add(new CellDiagnostic(At(file, item), $"{key}: list items must be names."));
            }
        }

        return result.ToImmutable();
    }

    private static ImmutableArray<CellInitEntry> Map(YamlNode v, string file, string key, List<CellDiagnostic> diagnostics)
    {
        if (v is YamlScalarNode { Value: null or "" or "{}" })
        {
            return [];
        }

        if (v is not YamlMappingNode map)
        {
            diagnostics.Add(new CellDiagnostic(At(file, v), $"{key}: expected a mapping of names to inits, e.g. {{f: linspace(3, 6)}}."));
            return [];
        }

        var result = ImmutableArray.CreateBuilder<CellInitEntry>();
        foreach (var (k, value) in map.Children)
        {
            if (k is YamlScalarNode ks && value is YamlScalarNode vs)
            {
                result.Add(new CellInitEntry(new CellName(ks.Value ?? "", At(file, ks)), vs.Value ?? "", At(file, vs)));
            }
            else
            {
                diagnostics.Add(new CellDiagnostic(At(file, k), $"{key}: each entry is name: init, e.g. f: chrono."));
            }
        }

        return result.ToImmutable();
    }

    /// <summary>
    /// The step's lines with their places in the file. A block scalar (<c>step: |</c>) starts on the next line at
    /// its indentation; a plain or quoted one where its text starts.
    /// </summary>
    private static ImmutableArray<CellStepLine> Step(YamlNode v, string file, string text, List<CellDiagnostic> diagnostics)
    {
        if (v is not YamlScalarNode s)
        {
            diagnostics.Add(new CellDiagnostic(At(file, v), "step: expected the equations as text (step: | followed by indented lines)."));
            return [];
        }

        string value = s.Value ?? "";
        int line = (int)s.Start.Line;
        int column = (int)s.Start.Column;
        if (s.Style is ScalarStyle.Literal or ScalarStyle.Folded)
        {
            var fileLines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
            line++;
            int first = line;
            while (first - 1 < fileLines.Length && string.IsNullOrWhiteSpace(fileLines[first - 1]))
            {
                first++;
            }

            column = first - 1 < fileLines.Length ? fileLines[first - 1].Length - fileLines[first - 1].TrimStart().Length + 1 : 1;
        }
        else if (s.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted)
        {
            column++;
        }

        return CellDefinition.StepLines(value, file, line, column);
    }
}
