using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ForgetGate.Lab.Core.Runs;

/// <summary>
/// Reads an already-resolved run list, <c>{"name": "...", "runs": [{...config...}, ...]}</c> (.json), so runs can be
/// queued without the YAML spec reader; each config is canonicalised (keys sorted, compact) and hashed.
/// </summary>
public sealed class RunListSweepSource : ISweepSource
{
    /// <inheritdoc />
    public bool CanRead(string specPath) => string.Equals(Path.GetExtension(specPath), ".json", StringComparison.OrdinalIgnoreCase);

    /// <inheritdoc />
    public SweepPlan Load(string specPath)
    {
        string text = File.ReadAllText(specPath);
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(text);
        }
        catch (JsonException e)
        {
            throw new FormatException($"{specPath}: not valid JSON ({e.Message}).", e);
        }

        if (root is not JsonObject obj || obj["runs"] is not JsonArray runs)
        {
            throw new FormatException($"{specPath}: expected an object with a 'runs' array of run configs.");
        }

        string name = obj["name"]?.GetValue<string>() ?? Path.GetFileNameWithoutExtension(specPath);
        var points = new List<SweepPoint>(runs.Count);
        for (int i = 0; i < runs.Count; i++)
        {
            if (runs[i] is not JsonObject config)
            {
                throw new FormatException($"{specPath}: runs[{i}] is not an object.");
            }

            if (config["seed"] is not JsonValue seedValue || !seedValue.TryGetValue(out long seed))
            {
                throw new FormatException($"{specPath}: runs[{i}].seed is missing or not an integer.");
            }

            string canonical = Canonical(config)!.ToJsonString();
            points.Add(new SweepPoint(canonical, Sha256(canonical), seed, config["variant"]?.GetValue<string>()));
        }

        return new SweepPlan(name, text, Sha256(text), points);
    }

    /// <summary>SHA-256 of the UTF-8 text, lower-case hex.</summary>
    public static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static JsonNode? Canonical(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, Canonical(p.Value)))),
        JsonArray a => new JsonArray([.. a.Select(Canonical)]),
        null => null,
        _ => node.DeepClone(),
    };
}
