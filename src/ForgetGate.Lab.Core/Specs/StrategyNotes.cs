namespace ForgetGate.Lab.Core.Specs;

/// <summary>
/// What a strategy's rule means for a run's scenario where that differs from the classification reading of
/// DESIGN.md §7 (a rule with no meaning there is replaced, never a crash); <c>spec check</c> prints these.
/// </summary>
public static class StrategyNotes
{
    /// <summary>Notes for one resolved run config; empty when every rule applies as written.</summary>
    public static IReadOnlyList<string> For(RunConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        bool regression = config.Scenario.Kind == "drift";
        bool multiHead = config.Scenario.Kind == "split" && config.Scenario.Head == "multi";
        var notes = new List<string>();
        switch (config.Strategy.Kind)
        {
            case "lwf" when regression:
                notes.Add("lwf on drift (regression): there are no class probabilities, so the distillation term is α·MSE(f(x), f_old(x)) and strategy.lwf_temperature has no meaning (ignored).");
                break;
            case "lwf" when multiHead:
                notes.Add("lwf with task-incremental heads: one KL term per old task, over that task's classes; the current task's head is not distilled.");
                break;
            case "derpp" when regression:
                notes.Add("derpp on drift (regression): the stored 'logits' are the model's predictions, and the β term is the MSE on the buffer samples' targets instead of cross-entropy.");
                break;
            case "mas" when multiHead:
                notes.Add("mas with task-incremental heads: ‖f(x)‖² is taken over the sample's own task head.");
                break;
            default:
                break;
        }

        return notes;
    }
}
