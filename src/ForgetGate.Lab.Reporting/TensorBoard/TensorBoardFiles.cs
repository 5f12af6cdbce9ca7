namespace ForgetGate.Lab.Reporting.TensorBoard;

/// <summary>Writes and reads TensorBoard event files (<c>events.out.tfevents.*</c>): TFRecord-framed <c>Event</c> protobufs.</summary>
public static class TensorBoardFiles
{
    /// <summary>The bytes of an event file: the header record (<c>brain.Event:2</c>) and then <paramref name="events"/>.</summary>
    public static byte[] Encode(double headerWallTime, IEnumerable<TbEvent> events, string? sourceWriter = null)
    {
        ArgumentNullException.ThrowIfNull(events);
        using var stream = new MemoryStream();
        TfRecord.Write(stream, TbProto.Encode(TbEvent.Header(headerWallTime, sourceWriter)));
        foreach (var e in events)
        {
            TfRecord.Write(stream, TbProto.Encode(e));
        }

        return stream.ToArray();
    }

    /// <summary>Every event of one file, the header included; corruption throws <see cref="InvalidDataException"/> naming the file.</summary>
    public static IReadOnlyList<TbEvent> ReadFile(string path)
    {
        var records = TfRecord.ReadAll(File.ReadAllBytes(path), path);
        var events = new List<TbEvent>(records.Count);
        for (int i = 0; i < records.Count; i++)
        {
            try
            {
                events.Add(TbProto.Decode(records[i]));
            }
            catch (Google.Protobuf.InvalidProtocolBufferException e)
            {
                throw new InvalidDataException($"{path}: record {i} is not a valid Event protobuf ({e.Message}).", e);
            }
        }

        return events;
    }

    /// <summary>What TensorBoard's reader (EventAccumulator) sees in a run folder: every <c>*tfevents*</c> file in name order.</summary>
    public static TbRunView ReadRun(string folder)
    {
        var files = Directory.GetFiles(folder).Where(f => Path.GetFileName(f).Contains("tfevents", StringComparison.Ordinal))
            .OrderBy(f => f, StringComparer.Ordinal).ToList();
        if (files.Count == 0)
        {
            throw new FileNotFoundException($"{folder} holds no event file (events.out.tfevents.*).", folder);
        }

        var view = new TbRunView();
        foreach (var file in files)
        {
            foreach (var e in ReadFile(file))
            {
                foreach (var v in e.Values)
                {
                    if (v.Scalar is { } s)
                    {
                        Add(view.Scalars, v.Tag, new TbScalarPoint(e.WallTime, e.Step, s));
                    }
                    else if (v.Histogram is { } h)
                    {
                        Add(view.Histograms, v.Tag, new TbHistogramPoint(e.WallTime, e.Step, h));
                    }
                    else if (v.Image is { } image)
                    {
                        Add(view.Images, v.Tag, new TbImagePoint(e.WallTime, e.Step, image));
                    }
                    else if (v.Text is { } text)
                    {
                        Add(view.Texts, v.Tag, new TbTextPoint(e.WallTime, e.Step, text));
                    }
                }
            }
        }

        return view;
    }

    private static void Add<T>(Dictionary<string, List<T>> map, string tag, T point)
    {
        if (!map.TryGetValue(tag, out var list))
        {
            map[tag] = list = [];
        }

        list.Add(point);
    }
}

/// <summary>The series of one run folder by tag, in the order written (tags in order of first appearance).</summary>
public sealed class TbRunView
{
    /// <summary>Scalars: the float value as a double, as TensorBoard's reader reports it.</summary>
    public Dictionary<string, List<TbScalarPoint>> Scalars { get; } = new(StringComparer.Ordinal);

    /// <summary>Histograms (TensorBoard shows them as histograms and distributions).</summary>
    public Dictionary<string, List<TbHistogramPoint>> Histograms { get; } = new(StringComparer.Ordinal);

    /// <summary>Images.</summary>
    public Dictionary<string, List<TbImagePoint>> Images { get; } = new(StringComparer.Ordinal);

    /// <summary>Text summaries (TensorBoard's reader lists them among tensors).</summary>
    public Dictionary<string, List<TbTextPoint>> Texts { get; } = new(StringComparer.Ordinal);
}

/// <summary>A scalar event.</summary>
public sealed record TbScalarPoint(double WallTime, long Step, double Value);

/// <summary>A histogram event.</summary>
public sealed record TbHistogramPoint(double WallTime, long Step, TbHistogram Histogram);

/// <summary>An image event.</summary>
public sealed record TbImagePoint(double WallTime, long Step, TbImage Image);

/// <summary>A text event.</summary>
public sealed record TbTextPoint(double WallTime, long Step, string Text);
