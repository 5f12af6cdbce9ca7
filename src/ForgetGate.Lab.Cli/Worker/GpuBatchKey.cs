using System.Text;
using System.Text.Json;

namespace ForgetGate.Lab.Cli.Worker;

/// <summary>
/// Which queued runs <c>worker --gpu</c> trains together: runs with equal keys. The key is the run's stored config with
/// the fields that a run may differ in without changing any shape or any call its runner makes removed:
/// <list type="bullet">
/// <item><c>name</c> and <c>seed</c> (the seed drives initial weights and data order, which are per run);</item>
/// <item><c>training.optimizer.*</c> and <c>training.clip_norm</c> (the optimizer and clipping run per run on the
/// run's own buffers);</item>
/// <item>the strategies' pure weights (<see cref="StrategyWeights"/>: penalty strengths, temperatures, margins), which
/// change numbers but not which passes run or their sizes.</item>
/// </list>
/// Everything else must be equal: the engine (only <c>model.engine: gpu</c> batches; any other run gets no key and is
/// trained alone), the variant or cell (its definition), hidden size, layers, the whole scenario (kind, dataset, tasks,
/// samples per task, window, classes, head: so T, D, outputs and the number of batches agree), epochs, batch size,
/// evaluation and checkpoint cadence, and the strategy with its buffer and sample sizes. Equal keys give runs the same
/// sequence of seam calls, so every round of a batch serves all of them. A run's numbers never depend on the key:
/// unequal runs in a batch would only share fewer launches (see <c>GpuSweepBatch</c>).
/// </summary>
internal static class GpuBatchKey
{
    /// <summary>Strategy fields that are weights in the loss or the update, not sizes.</summary>
    internal static readonly IReadOnlySet<string> StrategyWeights = new HashSet<string>(StringComparer.Ordinal)
    {
        "strategy.lambda", "strategy.gamma", "strategy.lwf_alpha", "strategy.lwf_temperature", "strategy.si_c", "strategy.si_xi",
        "strategy.mas_lambda", "strategy.gem_margin", "strategy.derpp_alpha", "strategy.derpp_beta",
    };

    /// <summary>The key of a stored config, or null when the run trains alone (not a gpu training run, or not a JSON object).</summary>
    public static string? Of(string configJson)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(configJson);
        }
        catch (JsonException)
        {
            return null; // the claim of this run reports the bad config; it trains (fails) alone
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || root.TryGetProperty("executor", out _)
                || !root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object
                || !model.TryGetProperty("engine", out var engine) || engine.ValueKind != JsonValueKind.String || engine.GetString() != "gpu")
            {
                return null;
            }

            var fields = new SortedDictionary<string, string>(StringComparer.Ordinal);
            Flatten(root, "", fields);
            var key = new StringBuilder();
            foreach (var (path, value) in fields)
            {
                if (path is "name" or "seed" or "training.clip_norm" || path.StartsWith("training.optimizer.", StringComparison.Ordinal) || StrategyWeights.Contains(path))
                {
                    continue;
                }

                key.Append(path).Append('=').Append(value).Append('\n');
            }

            return key.ToString();
        }
    }

    private static void Flatten(JsonElement element, string prefix, SortedDictionary<string, string> fields)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in element.EnumerateObject())
            {
                Flatten(property.Value, prefix.Length == 0 ? property.Name : prefix + "." + property.Name, fields);
            }
        }
        else
        {
            fields[prefix] = element.GetRawText();
        }
    }
}
