using System.Globalization;
using System.Text.Json;

namespace ForgetGate.Lab.Reporting;

/// <summary>
/// The task sequence(s) a sweep's runs were trained on, in words, read from their stored configs: which scenario and
/// dataset, how many tasks, and how an image became a sequence (scenario.sequence: rows or pixels).
/// </summary>
public static class ScenarioText
{
    /// <summary>
    /// One phrase per distinct scenario among the runs (e.g. "permuted fashion-mnist, 3 tasks, read pixel by pixel
    /// (784 steps of 1 pixel)"), joined by "; "; empty when no run's config names a scenario.
    /// </summary>
    public static string Describe(IEnumerable<RunReport> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        var phrases = new List<string>();
        foreach (var run in runs.OrderBy(r => r.RunId))
        {
            string? phrase = Phrase(run.ConfigJson);
            if (phrase is not null && !phrases.Contains(phrase, StringComparer.Ordinal))
            {
                phrases.Add(phrase);
            }
        }

        return string.Join("; ", phrases);
    }

    private static string? Phrase(string configJson)
    {
        JsonElement scenario;
        try
        {
            using var doc = JsonDocument.Parse(configJson);
            if (!doc.RootElement.TryGetProperty("scenario", out var s) || s.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            scenario = s.Clone();
        }
        catch (JsonException)
        {
            return null;
        }

        string kind = Text(scenario, "kind") ?? "?";
        string tasks = scenario.TryGetProperty("tasks", out var t) ? t.GetRawText() : "?";
        var inv = CultureInfo.InvariantCulture;
        if (kind == "drift")
        {
            string window = scenario.TryGetProperty("window", out var w) ? w.GetRawText() : "?";
            return string.Create(inv, $"drift ({Text(scenario, "drift") ?? "?"}, {Text(scenario, "family") ?? "?"}), {tasks} tasks, windows of {window} steps");
        }

        // Configs stored before scenario.sequence existed read rows, its default.
        string reading = Text(scenario, "sequence") == "pixels"
            ? "read pixel by pixel (sequence: pixels, one step per pixel: 784 steps of 1 value for 28×28 images)"
            : "read row by row (sequence: rows, one step per image row: 28 steps of 28 pixels)";
        return string.Create(inv, $"{kind} {Text(scenario, "dataset") ?? "?"}, {tasks} tasks, {reading}");
    }

    private static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
