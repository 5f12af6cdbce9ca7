using System.Globalization;

namespace ForgetGate.Lab.Core.Specs;

/// <summary>
/// What each known image dataset holds, so that a spec asking for more than exists is refused before anything is
/// queued (a run would otherwise fail on its first attempt). Counts are per class, from the published files
/// (checked against the Debian package for Fashion-MNIST); a local copy with fewer images still fails at run time.
/// </summary>
public static class DatasetLimits
{
    private sealed record Counts(int[] Train, int[] Test);

    private static readonly Dictionary<string, Counts> s_known = new(StringComparer.Ordinal)
    {
        ["fashion-mnist"] = new([.. Enumerable.Repeat(6000, 10)], [.. Enumerable.Repeat(1000, 10)]),
        ["kmnist"] = new([.. Enumerable.Repeat(6000, 10)], [.. Enumerable.Repeat(1000, 10)]),
        ["mnist"] = new(
            [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
            [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]),
    };

    /// <summary>
    /// Problems of one resolved point's scenario as (field path, message) pairs: more classes than the dataset has,
    /// or more training/test samples per task than that task's classes hold.
    /// </summary>
    public static IEnumerable<(string Path, string Message)> Check(IReadOnlyDictionary<string, object> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (!values.TryGetValue("scenario.dataset", out var datasetValue) || datasetValue is not string dataset
            || !s_known.TryGetValue(dataset, out var counts))
        {
            yield break; // drift is generated: any size exists
        }

        var inv = CultureInfo.InvariantCulture;
        string kind = (string)values["scenario.kind"];
        int tasks = (int)(long)values["scenario.tasks"];
        int classes = counts.Train.Length;
        int perTask = classes;
        if (kind == "split")
        {
            perTask = (int)(long)values["scenario.classes_per_task"];
            if (tasks * perTask > classes)
            {
                yield return ("scenario.classes_per_task", string.Create(inv,
                    $"split with {tasks} tasks × {perTask} classes needs {tasks * perTask} classes but {dataset} has {classes}; {(tasks <= classes ? $"at most {classes / tasks} classes per task for {tasks} tasks" : $"at most {classes} tasks of one class")}"));
                yield break;
            }
        }

        // The fewest samples any task's classes hold (split: tasks take classes 0..c−1, c..2c−1, …).
        foreach (var (path, perClass, what) in new[] { ("scenario.train_per_task", counts.Train, "training"), ("scenario.test_per_task", counts.Test, "test") })
        {
            int fewest = int.MaxValue, tightest = 0;
            for (int task = 0; task < (kind == "split" ? tasks : 1); task++)
            {
                int held = perClass.AsSpan(kind == "split" ? task * perTask : 0, perTask).ToArray().Sum();
                if (held < fewest)
                {
                    (fewest, tightest) = (held, task);
                }
            }

            long asked = (long)values[path];
            if (asked > fewest)
            {
                string which = kind == "split"
                    ? string.Create(inv, $"task {tightest + 1}'s classes ({string.Join(", ", Enumerable.Range(tightest * perTask, perTask))}) of {dataset}")
                    : $"{dataset} ({kind} tasks draw from all {classes} classes)";
                yield return (path, string.Create(inv, $"{asked} {what} samples per task, but only {fewest} exist in {which}; at most {fewest}"));
            }
        }
    }
}
