using ForgetGate.Lab.Core.Specs;

namespace ForgetGate.Lab.Core.Tests.Specs;

/// <summary>scenario.sequence: rows | pixels in specs: validated, in the resolved config, and in its hash.</summary>
public sealed class SequenceSpecTests
{
    private const string Spec = """
        name: seq
        scenario:
          kind: KIND
          tasks: 2
        SEQUENCE
        model:
          hidden: 8
        """;

    private static string Yaml(string kind, string? sequence) =>
        Spec.Replace("KIND", kind, StringComparison.Ordinal)
            .Replace("SEQUENCE", sequence is null ? "" : "  sequence: " + sequence, StringComparison.Ordinal);

    [Theory]
    [InlineData("permuted")]
    [InlineData("rotated")]
    [InlineData("split")]
    public void Default_IsRows_LeftOutOfTheConfig_SoConfigsStoredBeforeTheFieldKeepTheirHash(string kind)
    {
        var point = Assert.Single(SpecReader.Parse(Yaml(kind, null), "seq.yaml").Points);
        Assert.Equal("rows", point.Config.Scenario.Sequence);

        // Rows is what every image run read before scenario.sequence existed: at that default the field is left out of
        // the config, so the canonical JSON (and hash) of a default point is what it was, and writing rows changes nothing.
        Assert.DoesNotContain("sequence", point.CanonicalJson, StringComparison.Ordinal);
        var stored = RunConfig.FromCanonicalJson(point.CanonicalJson);
        Assert.Equal("rows", stored.Scenario.Sequence);
        Assert.Equal(point.ConfigHash, stored.Hash);
        Assert.Equal(point.ConfigHash, Assert.Single(SpecReader.Parse(Yaml(kind, "rows"), "seq.yaml").Points).ConfigHash);
    }

    [Fact]
    public void Pixels_IsInTheConfigAndItsHash_AndSweepsAgainstRows()
    {
        var rows = Assert.Single(SpecReader.Parse(Yaml("permuted", null), "seq.yaml").Points);
        var pixels = Assert.Single(SpecReader.Parse(Yaml("permuted", "pixels"), "seq.yaml").Points);
        Assert.Equal("pixels", pixels.Config.Scenario.Sequence);
        Assert.Contains("\"sequence\":\"pixels\"", pixels.CanonicalJson, StringComparison.Ordinal);
        Assert.NotEqual(rows.ConfigHash, pixels.ConfigHash);
        var readBack = RunConfig.FromCanonicalJson(pixels.CanonicalJson);
        Assert.Equal(pixels.ConfigHash, readBack.Hash);
        Assert.Equal("pixels", readBack.Scenario.Sequence);

        var swept = SpecReader.Parse(Yaml("permuted", "[rows, pixels]"), "seq.yaml");
        Assert.Equal([rows.ConfigHash, pixels.ConfigHash], swept.Points.Select(p => p.ConfigHash));
        Assert.Equal(["rows", "pixels"], swept.Points.Select(p => p.Factors["scenario.sequence"]));
    }

    [Fact]
    public void Drift_WithASequence_IsRefusedSayingWhy()
    {
        var e = Assert.Throws<SpecValidationException>(() => SpecReader.Parse(Yaml("drift", "pixels"), "seq.yaml"));
        var error = Assert.Single(e.Errors);
        Assert.Equal("scenario.sequence", error.Path);
        Assert.Equal(5, error.Line);
        Assert.Contains("applies only when scenario.kind is permuted or rotated or split", error.Message, StringComparison.Ordinal);
        Assert.Contains("a drift scenario is already a series of single values (its steps are scenario.window)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownSequence_NamesTheAllowedValues()
    {
        var e = Assert.Throws<SpecValidationException>(() => SpecReader.Parse(Yaml("permuted", "columns"), "seq.yaml"));
        var error = Assert.Single(e.Errors);
        Assert.Equal("scenario.sequence", error.Path);
        Assert.Contains("rows, pixels", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Drift_ConfigHasNoSequence()
    {
        var point = Assert.Single(SpecReader.Parse(Yaml("drift", null), "seq.yaml").Points);
        Assert.DoesNotContain("sequence", point.CanonicalJson, StringComparison.Ordinal);
    }
}
