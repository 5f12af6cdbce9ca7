using System.Collections.Immutable;
using System.Text;
using System.Text.Json;

namespace ForgetGate.Lab.Numerics.Cells;

/// <summary>A name written in a cell definition and where it was written.</summary>
public sealed record CellName(string Text, CellLocation Location);

/// <summary>A <c>target: init</c> entry of a cell's <c>params</c> or <c>init</c> map (init text such as <c>linspace(3, 6)</c>).</summary>
public sealed record CellInitEntry(CellName Target, string Init, CellLocation InitLocation);

/// <summary>One line of a cell's <c>step</c> text; <see cref="Location"/> is that of its first character.</summary>
public sealed record CellStepLine(string Text, CellLocation Location);

/// <summary>
/// A cell file as written (DESIGN.md §4b), before checking: the declarations with the place each was written, so
/// the checker can name file, line and column. Built by the YAML reader in Core, by <see cref="Create"/> in code, or
/// by <see cref="FromJson"/> from a checkpoint's metadata or a stored config. <see cref="CellChecker"/> turns it into a
/// <see cref="CellGraph"/>.
/// </summary>
public sealed record CellDefinition(
    CellName Name,
    string Description,
    ImmutableArray<CellName> Gates,
    ImmutableArray<CellName> InputOnly,
    ImmutableArray<CellName> States,
    ImmutableArray<CellInitEntry> Params,
    ImmutableArray<CellInitEntry> Init,
    ImmutableArray<CellStepLine> Step,
    CellName? Forget,
    CellLocation Location)
{
    /// <summary>
    /// A definition from plain values (no source file): every location is <paramref name="file"/> with the step's
    /// lines numbered from 1.
    /// </summary>
    public static CellDefinition Create(
        string name,
        IEnumerable<string> gates,
        string step,
        string? forget,
        IEnumerable<string>? states = null,
        IEnumerable<string>? inputOnly = null,
        IEnumerable<KeyValuePair<string, string>>? parameters = null,
        IEnumerable<KeyValuePair<string, string>>? init = null,
        string description = "",
        string? file = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(gates);
        ArgumentNullException.ThrowIfNull(step);
        var none = CellLocation.None(file ?? $"cell '{name}'");
        return new CellDefinition(
            new CellName(name, none),
            description,
            [.. gates.Select(g => new CellName(g, none))],
            [.. (inputOnly ?? []).Select(g => new CellName(g, none))],
            [.. (states ?? []).Select(g => new CellName(g, none))],
            [.. (parameters ?? []).Select(p => new CellInitEntry(new CellName(p.Key, none), p.Value, none))],
            [.. (init ?? []).Select(p => new CellInitEntry(new CellName(p.Key, none), p.Value, none))],
            StepLines(step, none.File, 1, 1),
            forget is null ? null : new CellName(forget, none),
            none);
    }

    /// <summary>Splits step text into lines, the first at (<paramref name="line"/>, <paramref name="column"/>), later ones at the same column.</summary>
    public static ImmutableArray<CellStepLine> StepLines(string step, string file, int line, int column)
    {
        ArgumentNullException.ThrowIfNull(step);
        var lines = step.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var result = ImmutableArray.CreateBuilder<CellStepLine>(lines.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            result.Add(new CellStepLine(lines[i], new CellLocation(file, line + i, column)));
        }

        return result.MoveToImmutable();
    }

    /// <summary>The step as one text, lines joined by '\n' with trailing blank lines removed.</summary>
    public string StepText => string.Join('\n', Step.Select(s => s.Text)).TrimEnd('\n', ' ', '\t');

    /// <summary>
    /// The definition as canonical JSON (the cell file's keys, declared order kept, no locations): what a resolved
    /// config and a checkpoint's metadata carry, so a hash over it covers the equations.
    /// </summary>
    public string ToJson()
    {
        using var stream = new MemoryStream();
        // Relaxed escaping keeps the equations readable in stored configs and checkpoint metadata (' and + unescaped).
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("name", Name.Text);
            w.WriteString("description", Description);
            WriteList(w, "gates", Gates);
            WriteList(w, "input_only", InputOnly);
            WriteList(w, "states", States);
            WriteMap(w, "params", Params);
            WriteMap(w, "init", Init);
            w.WriteString("step", StepText);
            if (Forget is null)
            {
                w.WriteNull("forget");
            }
            else
            {
                w.WriteString("forget", Forget.Text);
            }

            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());

        static void WriteList(Utf8JsonWriter w, string key, ImmutableArray<CellName> names)
        {
            w.WriteStartArray(key);
            foreach (var n in names)
            {
                w.WriteStringValue(n.Text);
            }

            w.WriteEndArray();
        }

        static void WriteMap(Utf8JsonWriter w, string key, ImmutableArray<CellInitEntry> entries)
        {
            w.WriteStartObject(key);
            foreach (var e in entries)
            {
                w.WriteString(e.Target.Text, e.Init);
            }

            w.WriteEndObject();
        }
    }

    /// <summary>Reads <see cref="ToJson"/>'s form back; <paramref name="source"/> names where it came from in errors.</summary>
    public static CellDefinition FromJson(string json, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            string name = root.GetProperty("name").GetString() ?? "";
            string description = root.TryGetProperty("description", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString()! : "";
            string step = root.GetProperty("step").GetString() ?? "";
            string? forget = root.TryGetProperty("forget", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null;
            return Create(
                name,
                List(root, "gates"),
                step,
                forget,
                List(root, "states"),
                List(root, "input_only"),
                Map(root, "params"),
                Map(root, "init"),
                description,
                source);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new CellDefinitionException($"{source}: the cell definition is not valid JSON of a cell ({e.Message}).", e);
        }

        static List<string> List(JsonElement root, string key) =>
            root.TryGetProperty(key, out var a) && a.ValueKind == JsonValueKind.Array
                ? [.. a.EnumerateArray().Select(e => e.GetString() ?? "")]
                : [];

        static List<KeyValuePair<string, string>> Map(JsonElement root, string key) =>
            root.TryGetProperty(key, out var o) && o.ValueKind == JsonValueKind.Object
                ? [.. o.EnumerateObject().Select(p => new KeyValuePair<string, string>(p.Name, p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText()))]
                : [];
    }
}
