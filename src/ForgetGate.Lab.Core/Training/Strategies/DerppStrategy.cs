using System.Globalization;
using System.Text;
using ForgetGate.Lab.Numerics.Random;

namespace ForgetGate.Lab.Core.Training.Strategies;

/// <summary>
/// Dark Experience Replay++ (Buzzega et al. 2020). A reservoir buffer of K entries (sample reference, label by
/// reference, and the outputs z the model gave the sample when it was inserted, i.e. the training forward pass of that
/// step). Every step with a non-empty buffer adds two independent uniform draws x′, x″ of min(B, |buffer|) entries
/// (without replacement, as Mammoth's buffer) to the batch: loss = task loss(current) + α·MSE(f(x′), z′) +
/// β·task loss(x″, y″), each term a mean over its own rows (the MSE over rows and outputs, as <c>F.mse_loss</c>).
/// Samples are offered to the reservoir at every step (every epoch), as Mammoth does. For regression the β term is
/// the MSE on the stored targets. Defaults K = 500, α = 0.3, β = 0.5: Mammoth's models/config/derpp.yaml (buffer 500).
/// </summary>
internal sealed class DerppStrategy : ContinualStrategy
{
    private readonly ReservoirBuffer _buffer;
    private readonly double _alpha;
    private readonly double _beta;
    private readonly List<int> _logitSlots = [];
    private float[] _logits = [];
    private int _outputs;

    public DerppStrategy(int bufferSize, double alpha, double beta)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(alpha);
        ArgumentOutOfRangeException.ThrowIfNegative(beta);
        _buffer = new ReservoirBuffer(bufferSize);
        _alpha = alpha;
        _beta = beta;
    }

    public override string Kind => "derpp";

    internal ReservoirBuffer Buffer => _buffer;

    /// <summary>Stored outputs of buffer slot <paramref name="slot"/>.</summary>
    internal ReadOnlySpan<float> StoredOutputs(int slot) => _logits.AsSpan(slot * _outputs, _outputs);

    public override int ExtraRows(int batchSize) => 2 * batchSize;

    public override StrategyFigures Figures
    {
        get
        {
            long bytes = (long)_buffer.Count * (ReplayStrategy.SampleRefBytes + (_outputs * sizeof(float)));
            return new(_buffer.Count, bytes, bytes);
        }
    }

    public override void ExtendBatch(int task, int epoch, int batch, int batchSize, Rng root, List<SampleRef> samples)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(samples);
        _logitSlots.Clear();
        if (_buffer.Count == 0)
        {
            return;
        }

        var rng = root.Split($"derpp/{task}/{epoch}/{batch}");
        int m = Math.Min(batchSize, _buffer.Count);
        var slots = new int[_buffer.Count];
        for (int draw = 0; draw < 2; draw++)
        {
            for (int i = 0; i < slots.Length; i++)
            {
                slots[i] = i;
            }

            for (int i = 0; i < m; i++)
            {
                int j = i + rng.NextInt(slots.Length - i);
                (slots[i], slots[j]) = (slots[j], slots[i]);
                samples.Add(_buffer[slots[i]]);
                if (draw == 0)
                {
                    _logitSlots.Add(slots[i]);
                }
            }
        }
    }

    public override double Loss(int task, IReadOnlyList<SampleRef> batch, int current, ReadOnlySpan<float> output, Span<float> dOutput, IStrategyModel model)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(model);
        double loss = model.TaskLoss(batch, 0, current, output, dOutput, 1f);
        int m = _logitSlots.Count;
        if (m == 0)
        {
            return loss;
        }

        if (batch.Count != current + (2 * m))
        {
            throw new InvalidOperationException($"DER++ batch has {batch.Count} rows; expected {current} current + 2·{m} buffer rows.");
        }

        return loss + BufferLoss(batch, current, output, dOutput, model);
    }

    /// <summary>α·MSE(f(x′), z′) + β·task loss(x″): the two buffer terms of the batch, their gradients added to dOutput.</summary>
    internal double BufferLoss(IReadOnlyList<SampleRef> batch, int current, ReadOnlySpan<float> output, Span<float> dOutput, IStrategyModel model)
    {
        int m = _logitSlots.Count;
        int c = _outputs;
        double scale = _alpha / ((double)m * c);
        double sum = 0;
        for (int r = 0; r < m; r++)
        {
            int row = current + r;
            sum += Distillation.SquaredError(output.Slice(row * c, c), StoredOutputs(_logitSlots[r]), dOutput.Slice(row * c, c), scale);
        }

        double loss = scale * sum;
        if (_beta > 0)
        {
            loss += model.TaskLoss(batch, current + m, m, output, dOutput, (float)_beta);
        }

        return loss;
    }

    public override void AfterBatch(int task, int epoch, int batch, ReadOnlySpan<SampleRef> current, ReadOnlySpan<float> currentOutputs, Rng root)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (current.IsEmpty)
        {
            return;
        }

        int c = currentOutputs.Length / current.Length;
        if (_outputs == 0)
        {
            _outputs = c;
            _logits = new float[_buffer.Capacity * c];
        }

        var rng = root.Split($"derpp-reservoir/{task}/{epoch}/{batch}");
        for (int i = 0; i < current.Length; i++)
        {
            int slot = _buffer.Offer(current[i], rng);
            if (slot >= 0)
            {
                currentOutputs.Slice(i * c, c).CopyTo(_logits.AsSpan(slot * c, c));
            }
        }
    }

    public override void Save(IDictionary<string, float[]> tensors, IDictionary<string, string> metadata)
    {
        var sb = new StringBuilder();
        foreach (var s in _buffer.Items)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{s.Task}:{s.Index};");
        }

        metadata["derpp.seen"] = _buffer.Seen.ToString(CultureInfo.InvariantCulture);
        metadata["derpp.buffer"] = sb.ToString();
        metadata["derpp.outputs"] = _outputs.ToString(CultureInfo.InvariantCulture);
        if (_outputs > 0)
        {
            tensors["derpp.logits"] = _logits;
        }
    }

    public override void Load(IReadOnlyDictionary<string, float[]> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        if (!metadata.TryGetValue("derpp.seen", out var seen) || !metadata.TryGetValue("derpp.buffer", out var buffer)
            || !metadata.TryGetValue("derpp.outputs", out var outputs))
        {
            throw new InvalidDataException("Checkpoint lacks the DER++ buffer (metadata 'derpp.seen' / 'derpp.buffer' / 'derpp.outputs', tensor 'derpp.logits').");
        }

        _buffer.Restore(long.Parse(seen, CultureInfo.InvariantCulture), SampleRefText.Parse(buffer));
        _outputs = int.Parse(outputs, CultureInfo.InvariantCulture);
        if (_outputs == 0)
        {
            _logits = [];
            return;
        }

        if (!tensors.TryGetValue("derpp.logits", out var logits) || logits.Length != _buffer.Capacity * _outputs)
        {
            throw new InvalidDataException($"Checkpoint lacks DER++'s stored outputs (tensor 'derpp.logits' of capacity·outputs = {_buffer.Capacity}·{_outputs} values).");
        }

        _logits = logits.ToArray();
    }
}
