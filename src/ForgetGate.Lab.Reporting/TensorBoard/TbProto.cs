using Google.Protobuf;

namespace ForgetGate.Lab.Reporting.TensorBoard;

/// <summary>
/// Encodes and decodes the few TensorFlow messages an event file uses (event.proto, summary.proto, tensor.proto,
/// tensor_shape.proto) with Google.Protobuf's coded streams. Fields are written in field-number order and proto3
/// defaults are left out, exactly as TensorBoard's own (Python protobuf) writer does, so the bytes match its files;
/// <c>simple_value</c> sits in a oneof and is written even when 0.
/// </summary>
public static class TbProto
{
    // event.proto
    private const int EventWallTime = 1, EventStep = 2, EventFileVersion = 3, EventSummary = 5, EventSourceMetadata = 10;

    // summary.proto: Summary.value; Summary.Value fields; Image; HistogramProto; SummaryMetadata; PluginData; SourceMetadata
    private const int SummaryValue = 1;
    private const int ValueTag = 1, ValueSimple = 2, ValueImage = 4, ValueHisto = 5, ValueTensor = 8, ValueMetadata = 9;
    private const int ImageHeight = 1, ImageWidth = 2, ImageColorspace = 3, ImageEncoded = 4;
    private const int HistoMin = 1, HistoMax = 2, HistoNum = 3, HistoSum = 4, HistoSumSquares = 5, HistoLimit = 6, HistoBucket = 7;
    private const int MetadataPluginData = 1, PluginName = 1, SourceWriter = 1;

    // tensor.proto / tensor_shape.proto; types.proto: DT_STRING = 7
    private const int TensorDtype = 1, TensorShape = 2, TensorStringVal = 8, ShapeDim = 2, DimSize = 1, DtString = 7;

    /// <summary>The serialized <c>Event</c>.</summary>
    public static byte[] Encode(TbEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return Message(o =>
        {
            if (e.WallTime != 0)
            {
                o.WriteTag(EventWallTime, WireFormat.WireType.Fixed64);
                o.WriteDouble(e.WallTime);
            }

            if (e.Step != 0)
            {
                o.WriteTag(EventStep, WireFormat.WireType.Varint);
                o.WriteInt64(e.Step);
            }

            if (e.FileVersion is not null)
            {
                WriteString(o, EventFileVersion, e.FileVersion);
            }

            if (e.FileVersion is null)
            {
                WriteMessage(o, EventSummary, s =>
                {
                    foreach (var v in e.Values)
                    {
                        WriteMessage(s, SummaryValue, w => WriteValue(w, v));
                    }
                });
            }

            if (e.SourceWriter is not null)
            {
                WriteMessage(o, EventSourceMetadata, m => WriteString(m, SourceWriter, e.SourceWriter));
            }
        });
    }

    private static void WriteValue(CodedOutputStream o, TbValue v)
    {
        WriteString(o, ValueTag, v.Tag);
        if (v.Scalar is { } scalar)
        {
            o.WriteTag(ValueSimple, WireFormat.WireType.Fixed32);
            o.WriteFloat(scalar);
        }

        if (v.Image is { } image)
        {
            WriteMessage(o, ValueImage, m =>
            {
                WriteInt32(m, ImageHeight, image.Height);
                WriteInt32(m, ImageWidth, image.Width);
                WriteInt32(m, ImageColorspace, image.Colorspace);
                if (image.EncodedPng.Length > 0)
                {
                    m.WriteTag(ImageEncoded, WireFormat.WireType.LengthDelimited);
                    m.WriteBytes(ByteString.CopyFrom(image.EncodedPng));
                }
            });
        }

        if (v.Histogram is { } h)
        {
            WriteMessage(o, ValueHisto, m =>
            {
                WriteDouble(m, HistoMin, h.Min);
                WriteDouble(m, HistoMax, h.Max);
                WriteDouble(m, HistoNum, h.Num);
                WriteDouble(m, HistoSum, h.Sum);
                WriteDouble(m, HistoSumSquares, h.SumSquares);
                WritePackedDoubles(m, HistoLimit, h.BucketLimit);
                WritePackedDoubles(m, HistoBucket, h.Bucket);
            });
        }

        if (v.Text is not null)
        {
            WriteMessage(o, ValueTensor, t =>
            {
                WriteInt32(t, TensorDtype, DtString);
                WriteMessage(t, TensorShape, s => WriteMessage(s, ShapeDim, d =>
                {
                    d.WriteTag(DimSize, WireFormat.WireType.Varint);
                    d.WriteInt64(1);
                }));
                t.WriteTag(TensorStringVal, WireFormat.WireType.LengthDelimited);
                t.WriteBytes(ByteString.CopyFromUtf8(v.Text));
            });
        }

        if (v.PluginName is not null)
        {
            WriteMessage(o, ValueMetadata, m => WriteMessage(m, MetadataPluginData, p => WriteString(p, PluginName, v.PluginName)));
        }
    }

    /// <summary>Decodes an <c>Event</c>; unknown fields are skipped, a malformed message throws <see cref="InvalidProtocolBufferException"/>.</summary>
    public static TbEvent Decode(byte[] payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        var input = new CodedInputStream(payload);
        double wall = 0;
        long step = 0;
        string? version = null, writer = null;
        var values = new List<TbValue>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case EventWallTime when WireFormat.GetTagWireType(tag) == WireFormat.WireType.Fixed64:
                    wall = input.ReadDouble();
                    break;
                case EventStep when WireFormat.GetTagWireType(tag) == WireFormat.WireType.Varint:
                    step = input.ReadInt64();
                    break;
                case EventFileVersion when IsBytes(tag):
                    version = input.ReadString();
                    break;
                case EventSummary when IsBytes(tag):
                    foreach (var (field, bytes) in Fields(input.ReadBytes()))
                    {
                        if (field == SummaryValue && bytes is not null)
                        {
                            values.Add(DecodeValue(bytes));
                        }
                    }

                    break;
                case EventSourceMetadata when IsBytes(tag):
                    writer = Fields(input.ReadBytes()).Where(f => f.Field == SourceWriter && f.Bytes is not null).Select(f => f.Bytes!.ToStringUtf8()).LastOrDefault();
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }

        return new TbEvent(wall, step, values, version, writer);
    }

    private static TbValue DecodeValue(ByteString bytes)
    {
        var input = bytes.CreateCodedInput();
        string name = "";
        float? scalar = null;
        TbHistogram? histogram = null;
        TbImage? image = null;
        string? text = null, plugin = null;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case ValueTag when IsBytes(tag):
                    name = input.ReadString();
                    break;
                case ValueSimple when WireFormat.GetTagWireType(tag) == WireFormat.WireType.Fixed32:
                    scalar = input.ReadFloat();
                    break;
                case ValueImage when IsBytes(tag):
                    image = DecodeImage(input.ReadBytes());
                    break;
                case ValueHisto when IsBytes(tag):
                    histogram = DecodeHistogram(input.ReadBytes());
                    break;
                case ValueTensor when IsBytes(tag):
                    text = Fields(input.ReadBytes()).Where(f => f.Field == TensorStringVal && f.Bytes is not null).Select(f => f.Bytes!.ToStringUtf8()).FirstOrDefault();
                    break;
                case ValueMetadata when IsBytes(tag):
                    var pluginData = Fields(input.ReadBytes()).FirstOrDefault(f => f.Field == MetadataPluginData && f.Bytes is not null).Bytes;
                    plugin = pluginData is null ? null : Fields(pluginData).Where(f => f.Field == PluginName && f.Bytes is not null).Select(f => f.Bytes!.ToStringUtf8()).FirstOrDefault();
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }

        return new TbValue(name, scalar, histogram, image, text, plugin);
    }

    private static TbHistogram DecodeHistogram(ByteString bytes)
    {
        var input = bytes.CreateCodedInput();
        double min = 0, max = 0, num = 0, sum = 0, squares = 0;
        var limits = new List<double>();
        var buckets = new List<double>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            int field = WireFormat.GetTagFieldNumber(tag);
            var wire = WireFormat.GetTagWireType(tag);
            if (field is >= HistoMin and <= HistoSumSquares && wire == WireFormat.WireType.Fixed64)
            {
                double v = input.ReadDouble();
                _ = field switch { HistoMin => min = v, HistoMax => max = v, HistoNum => num = v, HistoSum => sum = v, _ => squares = v };
            }
            else if (field is HistoLimit or HistoBucket)
            {
                var list = field == HistoLimit ? limits : buckets;
                if (wire == WireFormat.WireType.LengthDelimited)
                {
                    var packed = input.ReadBytes().CreateCodedInput();
                    while (!packed.IsAtEnd)
                    {
                        list.Add(packed.ReadDouble());
                    }
                }
                else
                {
                    list.Add(input.ReadDouble());
                }
            }
            else
            {
                input.SkipLastField();
            }
        }

        return new TbHistogram(min, max, num, sum, squares, limits, buckets);
    }

    private static TbImage DecodeImage(ByteString bytes)
    {
        var input = bytes.CreateCodedInput();
        int height = 0, width = 0, colorspace = 0;
        byte[] encoded = [];
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case ImageHeight: height = input.ReadInt32(); break;
                case ImageWidth: width = input.ReadInt32(); break;
                case ImageColorspace: colorspace = input.ReadInt32(); break;
                case ImageEncoded when IsBytes(tag): encoded = input.ReadBytes().ToByteArray(); break;
                default: input.SkipLastField(); break;
            }
        }

        return new TbImage(height, width, colorspace, encoded);
    }

    /// <summary>The fields of a nested message: length-delimited ones with their bytes, others skipped (bytes null).</summary>
    private static List<(int Field, ByteString? Bytes)> Fields(ByteString message)
    {
        var input = message.CreateCodedInput();
        var list = new List<(int, ByteString?)>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (IsBytes(tag))
            {
                list.Add((WireFormat.GetTagFieldNumber(tag), input.ReadBytes()));
            }
            else
            {
                list.Add((WireFormat.GetTagFieldNumber(tag), null));
                input.SkipLastField();
            }
        }

        return list;
    }

    private static bool IsBytes(uint tag) => WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited;

    private static byte[] Message(Action<CodedOutputStream> write)
    {
        using var buffer = new MemoryStream();
        using (var o = new CodedOutputStream(buffer, leaveOpen: true))
        {
            write(o);
        }

        return buffer.ToArray();
    }

    // Submessages are written even when empty: presence is what the reader sees (as Python's writer does).
    private static void WriteMessage(CodedOutputStream o, int field, Action<CodedOutputStream> write)
    {
        o.WriteTag(field, WireFormat.WireType.LengthDelimited);
        o.WriteBytes(ByteString.CopyFrom(Message(write)));
    }

    private static void WriteString(CodedOutputStream o, int field, string value)
    {
        if (value.Length > 0)
        {
            o.WriteTag(field, WireFormat.WireType.LengthDelimited);
            o.WriteString(value);
        }
    }

    private static void WriteInt32(CodedOutputStream o, int field, int value)
    {
        if (value != 0)
        {
            o.WriteTag(field, WireFormat.WireType.Varint);
            o.WriteInt32(value);
        }
    }

    private static void WriteDouble(CodedOutputStream o, int field, double value)
    {
        // proto3 leaves a default out; -0.0 is not the default (its bits differ), as in Python's writer.
        if (BitConverter.DoubleToInt64Bits(value) != 0)
        {
            o.WriteTag(field, WireFormat.WireType.Fixed64);
            o.WriteDouble(value);
        }
    }

    private static void WritePackedDoubles(CodedOutputStream o, int field, IReadOnlyList<double> values)
    {
        if (values.Count == 0)
        {
            return;
        }

        o.WriteTag(field, WireFormat.WireType.LengthDelimited);
        o.WriteLength(values.Count * 8);
        foreach (double v in values)
        {
            o.WriteDouble(v);
        }
    }
}
