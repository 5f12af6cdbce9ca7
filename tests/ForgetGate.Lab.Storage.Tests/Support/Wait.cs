using System.Diagnostics;

namespace ForgetGate.Lab.Storage.Tests.Support;

/// <summary>Polls a condition on the database until it holds.</summary>
internal static class Wait
{
    public static async Task UntilAsync(Func<bool> condition, TimeSpan timeout, Func<string> describe)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout)
            {
                Assert.Fail($"Condition not met within {timeout.TotalSeconds}s: {describe()}");
            }

            await Task.Delay(25);
        }
    }
}

/// <summary>Process tests share 2 cores: run them one after another.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class WorkerProcessGroup
{
    public const string Name = "worker processes";
}
