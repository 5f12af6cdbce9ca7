namespace ForgetGate.Lab.Reporting.TensorBoard;

/// <summary>Builds <see cref="TbHistogram"/>s the way TensorBoard's own writer (torch.utils.tensorboard) lays out bins.</summary>
public static class TbHistograms
{
    /// <summary>
    /// A histogram from bin counts over <paramref name="edges"/> (counts.Length + 1 ascending edges; bin i is
    /// [edges[i], edges[i+1]), the last one closed). As TensorBoard's writer does: only the support is kept (from the
    /// first to the last non-empty bin) and an empty bucket goes first, whose limit is the support's lowest edge, because
    /// a bucket only carries its right limit.
    /// </summary>
    public static TbHistogram FromBins(double min, double max, double num, double sum, double sumSquares, ReadOnlySpan<double> edges, ReadOnlySpan<double> counts)
    {
        if (edges.Length != counts.Length + 1)
        {
            throw new ArgumentException($"A histogram of {counts.Length} bins needs {counts.Length + 1} edges; got {edges.Length}.", nameof(edges));
        }

        int first = -1, last = -1;
        for (int i = 0; i < counts.Length; i++)
        {
            if (counts[i] > 0)
            {
                first = first < 0 ? i : first;
                last = i;
            }
        }

        if (first < 0)
        {
            // No value in range: TensorBoard's writer refuses; keep one empty bucket over the whole range instead.
            first = 0;
            last = counts.Length - 1;
        }

        var limits = new List<double>(last - first + 2);
        var buckets = new List<double>(last - first + 2);
        for (int k = first; k <= last + 1; k++)
        {
            limits.Add(edges[k]);
            buckets.Add(k == first ? (first > 0 ? counts[first - 1] : 0) : counts[k - 1]);
        }

        return new TbHistogram(min, max, num, sum, sumSquares, limits, buckets);
    }

    /// <summary>
    /// A histogram of <paramref name="values"/> over <paramref name="edges"/>, binned like numpy.histogram with explicit
    /// edges (values outside [edges[0], edges[^1]] are counted in num but in no bin); sums in float64.
    /// </summary>
    public static TbHistogram FromValues(ReadOnlySpan<float> values, ReadOnlySpan<double> edges)
    {
        if (values.IsEmpty)
        {
            throw new ArgumentException("A histogram needs at least one value.", nameof(values));
        }

        var counts = new double[edges.Length - 1];
        double min = double.PositiveInfinity, max = double.NegativeInfinity, sum = 0, squares = 0;
        foreach (float f in values)
        {
            double v = f;
            min = Math.Min(min, v);
            max = Math.Max(max, v);
            sum += v;
            squares += v * v;
            int bin = Bin(v, edges);
            if (bin >= 0)
            {
                counts[bin]++;
            }
        }

        return FromBins(min, max, values.Length, sum, squares, edges, counts);
    }

    /// <summary>Edges 0, 1/bins, …, 1 computed as numpy.linspace(0, 1, bins + 1) does (start + i·step, the last one exact).</summary>
    public static double[] UnitEdges(int bins)
    {
        var edges = new double[bins + 1];
        double step = 1.0 / bins;
        for (int i = 0; i < bins; i++)
        {
            edges[i] = i * step;
        }

        edges[bins] = 1.0;
        return edges;
    }

    private static int Bin(double v, ReadOnlySpan<double> edges)
    {
        if (!(v >= edges[0]) || v > edges[^1])
        {
            return -1;
        }

        if (v == edges[^1])
        {
            return edges.Length - 2;
        }

        int lo = 0, hi = edges.Length - 1; // edges[lo] <= v < edges[hi]
        while (hi - lo > 1)
        {
            int mid = (lo + hi) >>> 1;
            if (edges[mid] <= v)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }
}
