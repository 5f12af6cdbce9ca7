using ForgetGate.Lab.Core.Specs;

namespace ForgetGate.Lab.Core.Tests.Specs;

public sealed class ExperimentFilesTests
{
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var f in SpecFiles())
        {
            data.Add(f);
        }

        return data;
    }

    private static IEnumerable<string> SpecFiles()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "ForgetGate.Lab.sln")))
        {
            dir = dir.Parent;
        }

        return Directory.GetFiles(Path.Combine(dir!.FullName, "experiments"), "*.yaml").Order(StringComparer.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void ReadFile_EveryShippedSpec_IsValidAndExpands(string path)
    {
        var spec = SpecReader.ReadFile(path);
        Assert.NotEmpty(spec.Points);
        Assert.Equal(Path.GetFileNameWithoutExtension(path), spec.Name);
        Assert.Equal(spec.Points.Count, spec.Points.Select(p => p.ConfigHash).Distinct().Count());
    }

    [Fact]
    public void Files_IncludeTheCuratedSet()
    {
        var names = SpecFiles().Select(f => Path.GetFileName(f)).ToHashSet();
        foreach (var expected in new[] { "quick.yaml", "permuted-fmnist.yaml", "split-fmnist.yaml", "drift-abrupt.yaml", "drift-recurring.yaml", "strategies.yaml" })
        {
            Assert.Contains(expected, names);
        }
    }
}
