using ForgetGate.Lab.Numerics.Threading;

namespace ForgetGate.Lab.Numerics.Models;

/// <summary>
/// The inference path (evaluation, predict): <see cref="Forward"/> with training = false. It needs no gradients and
/// no order across samples, so the batch is cut into blocks of <see cref="InferenceBlockRows"/> rows and each worker
/// takes whole blocks through every time step and layer on its own: no barrier per step, no per-step activations in
/// memory, and a block's h, c and Z stay in the core's cache while the packed weights are reused across steps.
/// </summary>
/// <remarks>
/// A row's arithmetic is the training forward's chain (same products, same K order, same cells), and the products
/// compute every row independently of the others in its block, so logits are bit-identical to a training forward's
/// for any block size, batch split and thread count. Workers take blocks from a shared counter, so a core that is
/// busy with something else slows its share instead of the whole pass.
/// </remarks>
public sealed partial class RecurrentModel
{
    /// <summary>
    /// Rows a worker carries through all steps together: its h (twice) and c are 48 KB at H = 128, beside 310 KB of
    /// packed weights, all in a 1 MB L2. Measured on Zen 5 (one thread, H = 128 and 256, B = 1,000), 8 to 128 rows ran
    /// within 1% of each other; 32 keeps blocks small enough that two workers finish a 1,000-row batch together.
    /// </summary>
    internal const int InferenceBlockRows = 32;

    private readonly InferenceWork _inference;
    private float[] _xRows = [];          // [batch, steps, InputSize]: the last inference input, as given
    private float[] _logits = [];         // [batch, Outputs] written by the workers
    private float[][] _blockScratch = []; // per worker: every layer's h, c, Z of one block
    private bool _activationsKept;        // false after an inference pass: CopyForgetGates recomputes them

    private void Infer(ReadOnlySpan<float> x, int batch, int steps, Span<float> output)
    {
        _activationsKept = false;
        _batch = batch;
        _steps = steps;
        _xRows = RecurrentLayer.Grow(_xRows, RoundUp8(batch) * steps * Config.InputSize);
        x.CopyTo(_xRows);
        _xRows.AsSpan(x.Length, (RoundUp8(batch) - batch) * steps * Config.InputSize).Clear();
        _logits = RecurrentLayer.Grow(_logits, batch * Config.Outputs);
        foreach (var layer in _layers)
        {
            layer.Pack();
        }

        // A worker per block at most: more would only be woken to find the counter spent.
        int workers = Math.Min(_pool.Threads, (batch + InferenceBlockRows - 1) / InferenceBlockRows);
        _inference.Start(batch, steps);
        if (workers == 1)
        {
            _inference.Execute(0, 1);
        }
        else
        {
            _pool.Run(_inference, workers);
        }

        if (_inference.NonFinite)
        {
            // A cell file's step went non-finite (DESIGN.md §4b: a run fails naming the step and expression, never silent
            // NaN metrics). The training forward finds and names it exactly as it does in training; when it finds nothing
            // (only zero-input padding rows went non-finite), its logits are the same bits the inference pass computes.
            EnsureBuffers(batch, steps, training: false);
            RunLayers(x, batch, steps);
            var top = _layers[^1];
            Head(top.Hs.AsSpan(steps * batch * top.Hp, batch * top.Hp), top.Hp, batch, output);
            _activationsKept = true;
            return;
        }

        _logits.AsSpan(0, batch * Config.Outputs).CopyTo(output);
    }

    /// <summary>
    /// Runs rows [r0, r1) through every step and layer with <paramref name="scratch"/> as their state, then the head;
    /// false when a cell file's step went non-finite somewhere in the block (padding rows included).
    /// </summary>
    private bool InferBlock(int r0, int r1, int steps, float[] scratch)
    {
        bool finite = true;
        // Padding rows up to a multiple of 8 (zero input rows past the batch) let every group run MatMul's full
        // 8-row kernel; their results are never read.
        int rows = RoundUp8(r1 - r0);
        int d = Config.InputSize;
        scratch.AsSpan(0, InferenceScratchLength(rows)).Clear();
        ReadOnlySpan<float> input = _xRows.AsSpan(r0 * steps * d, rows * steps * d);
        ReadOnlySpan<float> below = default;
        for (int t = 0; t < steps; t++)
        {
            below = input[(t * d)..];
            int belowRow = steps * d;
            int offset = 0;
            foreach (var layer in _layers)
            {
                int length = layer.InferenceScratch(rows);
                finite &= layer.InferStep(below, belowRow, rows, t, scratch, offset);
                below = layer.InferenceHidden(scratch.AsSpan(offset, length), rows, t + 1);
                belowRow = layer.Hp;
                offset += length;
            }
        }

        int outputs = Config.Outputs;
        Head(below, _layers[^1].Hp, r1 - r0, _logits.AsSpan(r0 * outputs, (r1 - r0) * outputs));
        return finite;
    }

    private static int RoundUp8(int rows) => (rows + 7) / 8 * 8;

    private int InferenceScratchLength(int rows)
    {
        int length = 0;
        foreach (var layer in _layers)
        {
            length += layer.InferenceScratch(rows);
        }

        return length;
    }

    /// <summary>
    /// Rebuilds the per-step activations of the last inference pass with the training forward (bit-identical by
    /// construction), for the rare caller that asks for forget gates after an inference pass.
    /// </summary>
    private void KeepActivations()
    {
        if (_activationsKept)
        {
            return;
        }

        EnsureBuffers(_batch, _steps, training: false);
        RunLayers(_xRows.AsSpan(0, _batch * _steps * Config.InputSize), _batch, _steps);
        _activationsKept = true;
    }

    /// <summary>The one preallocated inference work item: workers take blocks of rows from a shared counter.</summary>
    private sealed class InferenceWork(RecurrentModel model) : IParallelWork
    {
        private int _next;
        private int _blocks;
        private int _batch;
        private int _steps;
        private int _nonFinite;

        /// <summary>Whether a block of the last pass went non-finite (cell files only).</summary>
        public bool NonFinite => Volatile.Read(ref _nonFinite) != 0;

        public void Start(int batch, int steps)
        {
            _batch = batch;
            _steps = steps;
            _nonFinite = 0;
            _blocks = (batch + InferenceBlockRows - 1) / InferenceBlockRows;
            _next = 0;
            var m = model;
            if (m._blockScratch.Length < m._pool.Threads)
            {
                m._blockScratch = new float[m._pool.Threads][];
            }

            int length = m.InferenceScratchLength(InferenceBlockRows);
            for (int w = 0; w < m._pool.Threads; w++)
            {
                m._blockScratch[w] = RecurrentLayer.Grow(m._blockScratch[w] ?? [], length);
            }
        }

        public void Execute(int worker, int workers)
        {
            var scratch = model._blockScratch[worker];
            int block;
            while ((block = Interlocked.Increment(ref _next) - 1) < _blocks)
            {
                int r0 = block * InferenceBlockRows;
                if (!model.InferBlock(r0, Math.Min(_batch, r0 + InferenceBlockRows), _steps, scratch))
                {
                    Volatile.Write(ref _nonFinite, 1);
                }
            }
        }
    }
}
