namespace ForgetGate.Lab.Gpu.Kernels;

/// <summary>
/// Sizes and per-run strides of one time step of a cell kernel. Views handed to a cell kernel start at the step's
/// offset inside run 0; run r's element is found <c>r·stride</c> further on.
/// </summary>
internal struct CellArgs
{
    /// <summary>Batch rows B.</summary>
    public int Batch;

    /// <summary>Hidden units H.</summary>
    public int Hidden;

    /// <summary>Per-run stride of pre-activations/activations and dZ ([T, B, G·H] per run).</summary>
    public int ZRun;

    /// <summary>Per-run stride of the hidden and cell states ([T+1, B, H] per run).</summary>
    public int StateRun;

    /// <summary>Per-run stride of the incoming dL/dh view.</summary>
    public int DhRun;

    /// <summary>Per-run stride of the [B, H] carries (dL/dc, and the GRU's next dL/dh base).</summary>
    public int CarryRun;

    /// <summary>Per-run stride of dL/dh from above ([T, B, H] per run).</summary>
    public int AboveRun;

    /// <summary>1 when a previous step exists (t &gt; 0): the GRU then writes the next step's dL/dh base.</summary>
    public int HasPrevious;
}
