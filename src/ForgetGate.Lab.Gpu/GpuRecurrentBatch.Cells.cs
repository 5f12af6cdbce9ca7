using ForgetGate.Lab.Gpu.Kernels;
using ForgetGate.Lab.Numerics.Cells;
using ILGPU;
using ILGPU.Runtime;
using DeviceBuffer = ILGPU.Runtime.MemoryBuffer1D<float, ILGPU.Stride1D.Dense>;

namespace ForgetGate.Lab.Gpu;

/// <summary>
/// Cell-file layers (DESIGN.md §4b) on the device: the same parameters as the managed engine's generic cell layer
/// (weight_ih [G·H, D], weight_hh and bias_hh for the recurrent blocks only, bias_ih [G·H], one [H] vector per cell
/// parameter), the block pre-activations from batched GEMMs, and the step itself from <see cref="CellPrograms"/>.
/// </summary>
public sealed partial class GpuRecurrentBatch
{
    private CellLayer[] _cellLayers = [];
    private DeviceBuffer[] _tape = [];
    private DeviceBuffer[] _states = [];
    private DeviceBuffer? _zh;
    private DeviceBuffer? _dZhAll;
    private DeviceBuffer? _adjoints;
    private DeviceBuffer? _dhDirect;
    private DeviceBuffer? _dStates;
    private DeviceBuffer? _dParams;
    private DeviceBuffer? _constants;

    private CellGraph Cell => Config.Cell!;

    private int CellRecurrentWidth => Cell.RecurrentBlocks.Length * Config.Hidden;

    /// <summary>Builds the program tables (one per layer: the parameter offsets differ) from the checked graph.</summary>
    private void InitCellProgram()
    {
        var cell = Cell;
        var nodes = cell.Nodes;
        var constants = new float[Math.Max(1, nodes.Length)];
        var program = new int[nodes.Length * CellPrograms.Stride];
        for (int n = 0; n < nodes.Length; n++)
        {
            var node = nodes[n];
            int row = n * CellPrograms.Stride;
            program[row] = (int)node.Op;
            for (int o = 0; o < 4; o++)
            {
                program[row + 1 + o] = o < node.Operands.Length ? node.Operands[o] : -1;
            }

            program[row + 5] = node.Slot;
            program[row + 6] = (int)node.Comparison;
            constants[n] = (float)node.Value;
        }

        var recurrent = new int[cell.Blocks.Length];
        for (int j = 0; j < recurrent.Length; j++)
        {
            recurrent[j] = cell.RecurrentBlocks.IndexOf(j);
        }

        _constants = _acc.Allocate1D(constants);
        _cellLayers = new CellLayer[Config.Layers];
        for (int k = 0; k < Config.Layers; k++)
        {
            var table = new List<int>(program);
            int recurrentTable = table.Count;
            table.AddRange(recurrent);
            int paramTable = table.Count;
            table.AddRange(cell.Params.Select(p => Offset($"rnn.{p}_l{k}")));
            int stateOutputTable = table.Count;
            table.AddRange(cell.StateOutputs);
            _cellLayers[k] = new CellLayer(_acc.Allocate1D(table.ToArray()), recurrentTable, paramTable, stateOutputTable);
        }
    }

    private CellProgramArgs CellArgsFor(int k, int batch, int steps, int t)
    {
        var cell = Cell;
        var l = _cellLayers[k];
        int h = Config.Hidden;
        int r = cell.RecurrentBlocks.Length;
        return new CellProgramArgs
        {
            Batch = batch, Hidden = h, Steps = steps, Step = t, Nodes = cell.Nodes.Length, Blocks = cell.Blocks.Length, States = cell.States.Length,
            Params = cell.Params.Length, Recurrent = r, HiddenOutput = cell.HiddenOutput, HiddenNode = cell.HiddenNode,
            ZRun = steps * batch * _gh, ZhRun = batch * r * h, DZhRun = steps * batch * r * h, ParamRun = ParameterCount, StateRun = (steps + 1) * batch * h,
            RecurrentTable = l.RecurrentTable, ParamTable = l.ParamTable, StateOutputTable = l.StateOutputTable,
        };
    }

    /// <summary>Forward of cell layer k over all steps: Zx for every step in one GEMM, then per step the W_hh GEMM and the program.</summary>
    private void ForwardCellLayer(int k, int batch, int steps, ArrayView<float> input, int inputRun)
    {
        var l = _layers[k];
        int h = Config.Hidden;
        int gh = _gh;
        int rh = CellRecurrentWidth;
        int rows = batch * steps;
        int zRun = rows * gh;
        int stateRun = (steps + 1) * batch * h;
        int p = ParameterCount;
        var table = _cellLayers[k].Table.View;

        // Zx = input · W_ihᵀ + b_ih for all steps.
        Gemm(rows, gh, l.Inputs, input, inputRun, l.Inputs, 1, Tail(_params, l.WeightIh), p, 1, l.Inputs, _z[k].View, zRun, gh, Tail(_params, l.BiasIh), p, 0, 1);
        var cells = new Index2D(batch * h, Runs);
        _k.ZeroPrefix(cells, stateRun, _h[k].View);
        for (int s = 0; s < Cell.States.Length; s++)
        {
            _k.ZeroPrefix(cells, stateRun * Cell.States.Length, Tail(_states[k], (long)s * stateRun));
        }

        for (int t = 0; t < steps; t++)
        {
            if (rh > 0)
            {
                // Zh = h_t · W_hhᵀ + b_hh for the recurrent blocks.
                Gemm(batch, rh, h, Tail(_h[k], (long)t * batch * h), stateRun, h, 1, Tail(_params, l.WeightHh), p, 1, h, _zh!.View, batch * rh, rh, Tail(_params, l.BiasHh), p, 0, 1);
            }

            _k.CellForward(cells, CellArgsFor(k, batch, steps, t), table, _constants!.View, _z[k].View, _zh!.View, _params.View, _h[k].View, _states[k].View, _tape[k].View);
        }
    }

    /// <summary>Backward of cell layer k: per step W_hh's share of dL/dh, then the program in reverse; then the weight gradients.</summary>
    private void BackwardCellLayer(int k)
    {
        var l = _layers[k];
        int batch = _batch;
        int steps = _steps;
        int h = Config.Hidden;
        int gh = _gh;
        int rh = CellRecurrentWidth;
        int rows = batch * steps;
        int zRun = rows * gh;
        int stateRun = (steps + 1) * batch * h;
        int aboveRun = rows * h;
        int carryRun = batch * h;
        int dzhRun = rows * rh;
        int p = ParameterCount;
        int states = Cell.States.Length;
        var table = _cellLayers[k].Table.View;
        var cells = new Index2D(batch * h, Runs);
        _dhDirect!.View.SubView(0, (long)Runs * carryRun).MemSetToZero();
        _dStates!.View.SubView(0, Math.Max(1L, (long)Runs * states * carryRun)).MemSetToZero();
        for (int t = steps - 1; t >= 0; t--)
        {
            ArrayView<float> dh;
            int dhRun;
            if (t == steps - 1 || rh == 0)
            {
                dh = Tail(_dH!, (long)t * batch * h);
                dhRun = aboveRun;
            }
            else
            {
                // dL/dh_t from outside the cell: dZh_{t+1}·W_hh plus dL/dh_t from above.
                Gemm(batch, h, rh, Tail(_dZhAll!, (long)(t + 1) * batch * rh), dzhRun, rh, 1, Tail(_params, l.WeightHh), p, h, 1, _dhCur!.View, carryRun, h,
                    Tail(_dH!, (long)t * batch * h), aboveRun, h, 1);
                dh = _dhCur.View;
                dhRun = carryRun;
            }

            var args = CellArgsFor(k, batch, steps, t);
            args.DhRun = dhRun;
            _k.CellBackward(cells, args, table, _tape[k].View, dh, _dhDirect.View, _dStates.View, _adjoints!.View, _dZx!.View, _dZhAll!.View, _dParams!.View);
        }

        var (input, inputRun) = k == 0 ? (Tail(_x!, 0), rows * Config.InputSize) : (Tail(_h[k - 1], batch * h), stateRun);
        Gemm(gh, l.Inputs, rows, _dZx!.View, zRun, 1, gh, input, inputRun, l.Inputs, 1, Tail(_grads, l.WeightIh), p, l.Inputs);
        _k.ColumnSums(new Index2D(gh, Runs), rows, gh, _dZx.View, zRun, Tail(_grads, l.BiasIh), p);
        if (rh > 0)
        {
            Gemm(rh, h, rows, _dZhAll!.View, dzhRun, 1, rh, _h[k].View, stateRun, h, 1, Tail(_grads, l.WeightHh), p, h);
            _k.ColumnSums(new Index2D(rh, Runs), rows, rh, _dZhAll.View, dzhRun, Tail(_grads, l.BiasHh), p);
        }

        // Per-unit parameters: Σ over steps and rows of each element's contribution, in a fixed order.
        int tbh = rows * h;
        for (int q = 0; q < Cell.Params.Length; q++)
        {
            _k.ColumnSums(new Index2D(h, Runs), rows, h, Tail(_dParams!, (long)q * tbh), Cell.Params.Length * tbh, Tail(_grads, Offset($"rnn.{Cell.Params[q]}_l{k}")), p);
        }

        if (k > 0)
        {
            Gemm(rows, l.Inputs, gh, _dZx.View, zRun, gh, 1, Tail(_params, l.WeightIh), p, l.Inputs, 1, _dH!.View, aboveRun, h);
        }
    }

    /// <summary>The effective forget gate of a cell layer: its <c>forget</c> node at every step, [steps, batch, hidden].</summary>
    private float[] CopyCellForgetGates(int run, int layer)
    {
        int tbh = _steps * _batch * Config.Hidden;
        var result = new float[tbh];
        _tape[layer].View.SubView(((long)run * Cell.Nodes.Length * tbh) + ((long)Cell.ForgetOutput * tbh), tbh).CopyToCPU(result);
        return result;
    }

    private void AllocateCellActivations(long runs, int b, int t, bool training)
    {
        int h = Config.Hidden;
        int layers = Config.Layers;
        long tbh = (long)t * b * h;
        int states = Cell.States.Length;
        CheckSize(runs * Cell.Nodes.Length * tbh, "cell tapes");
        _tape = new DeviceBuffer[layers];
        _states = new DeviceBuffer[layers];
        for (int k = 0; k < layers; k++)
        {
            _tape[k] = Allocate(runs * Cell.Nodes.Length * tbh);
            _states[k] = Allocate(runs * states * (t + 1) * b * h);
        }

        _zh = Allocate(runs * b * CellRecurrentWidth);
        if (training)
        {
            _dZhAll = Allocate(runs * t * b * CellRecurrentWidth);
            _adjoints = Allocate(runs * Cell.Nodes.Length * b * h);
            _dhDirect = Allocate(runs * b * h);
            _dStates = Allocate(runs * states * b * h);
            _dParams = Allocate(runs * Cell.Params.Length * tbh);
        }
    }

    private void ReleaseCellActivations()
    {
        foreach (var buffer in new[] { _zh, _dZhAll, _adjoints, _dhDirect, _dStates, _dParams }.Concat(_tape).Concat(_states))
        {
            buffer?.Dispose();
        }

        _zh = _dZhAll = _adjoints = _dhDirect = _dStates = _dParams = null;
        _tape = [];
        _states = [];
    }

    private void DisposeCellProgram()
    {
        ReleaseCellActivations();
        _constants?.Dispose();
        foreach (var l in _cellLayers)
        {
            l.Table.Dispose();
        }
    }

    private sealed record CellLayer(MemoryBuffer1D<int, Stride1D.Dense> Table, int RecurrentTable, int ParamTable, int StateOutputTable);
}
