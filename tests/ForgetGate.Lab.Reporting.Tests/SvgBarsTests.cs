using System.Globalization;
using System.Text.RegularExpressions;

namespace ForgetGate.Lab.Reporting.Tests;

/// <summary>Bar-chart labels: short ones centred under their bar, long ones ("lstm-fb1 / replay / 0.0003") turned so neighbours do not overlap.</summary>
public sealed partial class SvgBarsTests
{
    [Fact]
    public void Bars_ShortNames_AreCentredAndUpright()
    {
        string svg = Svg.Bars("ACC", [("lstm", 0.5, 0.1), ("gru", 0.6, 0.1)], "ACC", 1);
        Assert.DoesNotContain("rotate(-35", svg, StringComparison.Ordinal);
        Assert.Equal(2, Regex.Count(svg, "text-anchor=\"middle\" >(lstm|gru)<"));
    }

    [Fact]
    public void Bars_LongNames_AreTurned_AndStayInsideTheFigure()
    {
        string[] names = ["lstm-fb1 / replay / 0.0003", "chrono / ewc / 0.001", "ur-lstm / cumulative / 0.0003"];
        string svg = Svg.Bars("ACC", [.. names.Select((n, i) => (n, 0.5 + (i * 0.1), 0.05))], "ACC", 0);
        var size = SizeRegex().Match(svg);
        double width = double.Parse(size.Groups[1].Value, CultureInfo.InvariantCulture), height = double.Parse(size.Groups[2].Value, CultureInfo.InvariantCulture);
        var labels = LabelRegex().Matches(svg);
        Assert.Equal(names.Length, labels.Count);
        double previousX = double.NegativeInfinity;
        foreach (Match label in labels)
        {
            double x = double.Parse(label.Groups[1].Value, CultureInfo.InvariantCulture), y = double.Parse(label.Groups[2].Value, CultureInfo.InvariantCulture);
            double length = label.Groups[3].Value.Length * 6.2;
            // The label ends at (x, y) and runs back along −35°: its start is left of and below its end.
            double startX = x - (length * Math.Cos(35 * Math.PI / 180)), startY = y + (length * Math.Sin(35 * Math.PI / 180));
            Assert.True(startX >= 0 && startY <= height && x <= width, $"'{label.Groups[3].Value}' from ({startX:F0}, {startY:F0}) to ({x}, {y}) leaves the {width}×{height} figure");
            // Parallel baselines 56 px apart horizontally are 56·sin 35° ≈ 32 px apart across: more than a line of 11 px text.
            Assert.Equal(56, x - previousX is double d && double.IsFinite(d) ? d : 56, 6);
            previousX = x;
        }
    }

    [GeneratedRegex("viewBox=\"0 0 ([0-9.]+) ([0-9.]+)\"")]
    private static partial Regex SizeRegex();

    [GeneratedRegex("<text x=\"([0-9.]+)\" y=\"([0-9.]+)\" text-anchor=\"end\" transform=\"rotate\\(-35 [0-9.]+ [0-9.]+\\)\">([^<]+)</text>")]
    private static partial Regex LabelRegex();
}
