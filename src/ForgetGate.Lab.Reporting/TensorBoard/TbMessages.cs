namespace ForgetGate.Lab.Reporting.TensorBoard;

/// <summary>
/// One <c>tensorflow.Event</c>: <paramref name="WallTime"/> in seconds since the epoch, the global <paramref name="Step"/>,
/// and either the file version (first record) or a summary's values.
/// </summary>
public sealed record TbEvent(double WallTime, long Step, IReadOnlyList<TbValue> Values, string? FileVersion = null, string? SourceWriter = null)
{
    /// <summary>The first record of every event file: <c>file_version: "brain.Event:2"</c>.</summary>
    public static TbEvent Header(double wallTime, string? sourceWriter = null) => new(wallTime, 0, [], "brain.Event:2", sourceWriter);
}

/// <summary>
/// One <c>Summary.Value</c>: a scalar (<paramref name="Scalar"/>), a histogram, an image, or a text (a string tensor with
/// the <c>text</c> plugin's metadata, as TensorBoard's own <c>add_text</c> writes it).
/// </summary>
public sealed record TbValue(string Tag, float? Scalar = null, TbHistogram? Histogram = null, TbImage? Image = null, string? Text = null, string? PluginName = null)
{
    /// <summary>A scalar value.</summary>
    public static TbValue Of(string tag, float value) => new(tag, Scalar: value);

    /// <summary>A text summary under <c>&lt;tag&gt;/text_summary</c> (the name TensorBoard's writer gives it; Markdown is rendered).</summary>
    public static TbValue OfText(string tag, string markdown) => new(tag + "/text_summary", Text: markdown, PluginName: "text");
}

/// <summary>
/// <c>HistogramProto</c>: bucket i counts the values in (<c>BucketLimit[i−1]</c>, <c>BucketLimit[i]</c>]; the first bucket
/// reaches down to −∞, which is why writers put an empty bucket first whose limit is the lowest edge.
/// </summary>
public sealed record TbHistogram(double Min, double Max, double Num, double Sum, double SumSquares, IReadOnlyList<double> BucketLimit, IReadOnlyList<double> Bucket);

/// <summary><c>Summary.Image</c>: an encoded PNG and its size; colour space 3 is RGB.</summary>
public sealed record TbImage(int Height, int Width, int Colorspace, byte[] EncodedPng);
