using ForgetGate.Lab.Numerics.Engines;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Threading;

namespace ForgetGate.Lab.Gpu;

/// <summary>
/// <c>model.engine: gpu</c>: one run's network on the process's ILGPU accelerator (the first CUDA GPU, else the CPU
/// accelerator) behind the engine seam. Each Forward uploads the host parameter values and each Backward brings the
/// gradients back (the seam's contract: host buffers are the truth between calls), so the host's optimizers,
/// strategies and checkpoints work unchanged. Training many runs at once with everything on the device is
/// <see cref="GpuRecurrentBatch"/>'s job.
/// </summary>
public sealed class GpuEngine : IModelEngine
{
    /// <summary>The engine's name in specs and on the command line.</summary>
    public const string EngineName = "gpu";

    private static readonly Lock s_lock = new();
    private static GpuDevice? s_device;

    /// <summary>The one instance.</summary>
    public static GpuEngine Instance { get; } = new();

    /// <inheritdoc />
    public string Name => EngineName;

    /// <summary>The device every gpu network of this process shares (opened on first use, kept for the process).</summary>
    public static GpuDevice SharedDevice
    {
        get
        {
            lock (s_lock)
            {
                if (s_device is null)
                {
                    try
                    {
                        s_device = GpuDevice.Open(GpuPreference.Auto);
                    }
                    catch (Exception e) when (e is not OutOfMemoryException)
                    {
                        throw new EngineUnavailableException($"The gpu engine could not open an ILGPU accelerator: {e.Message}", e);
                    }
                }

                return s_device;
            }
        }
    }

    /// <inheritdoc />
    public IRecurrentNetwork Create(RecurrentModelConfig config, ComputePool pool)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new GpuNetwork(SharedDevice, config);
    }

}

/// <summary>One run on a <see cref="GpuRecurrentBatch"/> of one, with host parameter buffers (see <see cref="GpuEngine"/>).</summary>
internal sealed class GpuNetwork : IRecurrentNetwork
{
    private readonly GpuDevice _device;
    private readonly GpuRecurrentBatch _batch;
    private readonly Parameter[] _parameters;
    private int _lastBatch;
    private int _lastSteps;

    public GpuNetwork(GpuDevice device, RecurrentModelConfig config)
    {
        _device = device;
        lock (device.Gate)
        {
            _batch = new GpuRecurrentBatch(device, config, 1);
        }

        using var template = new RecurrentModel(config);
        _parameters = [.. template.Parameters.Select(p => new Parameter(p.Name, [.. p.Shape]))];
    }

    public string Engine => GpuEngine.EngineName;

    public RecurrentModelConfig Config => _batch.Config;

    public IReadOnlyList<Parameter> Parameters => _parameters;

    public void Forward(ReadOnlySpan<float> x, int batch, int steps, Span<float> output, bool training)
    {
        CheckInput(x, batch, steps, Config.InputSize);
        lock (_device.Gate)
        {
            _batch.SetParameters(0, _parameters);
            _batch.Forward(x, batch, steps, output, training);
        }

        _lastBatch = batch;
        _lastSteps = steps;
    }

    /// <summary>The seam's input checks: x is [batch, steps, d] and finite; a non-finite value is named by its position.</summary>
    internal static void CheckInput(ReadOnlySpan<float> x, int batch, int steps, int d)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        if (x.Length != (long)batch * steps * d)
        {
            throw new ArgumentException($"Input x has {x.Length} values; expected batch·steps·InputSize = {batch}·{steps}·{d} = {(long)batch * steps * d}.", nameof(x));
        }

        for (int i = 0; i < x.Length; i++)
        {
            if (!float.IsFinite(x[i]))
            {
                throw new ArgumentException(
                    $"Input x holds a non-finite value {x[i].ToString(System.Globalization.CultureInfo.InvariantCulture)} at [batch {i / (steps * d)}, step {i / d % steps}, feature {i % d}].",
                    nameof(x));
            }
        }
    }

    public void Backward(ReadOnlySpan<float> dOutput)
    {
        lock (_device.Gate)
        {
            _batch.Backward(dOutput);
            _batch.GetGradients(0, _parameters);
        }
    }

    public int CopyForgetGates(int layer, Span<float> destination)
    {
        float[] gates;
        lock (_device.Gate)
        {
            gates = _batch.CopyForgetGates(0, layer);
        }

        if (destination.Length < gates.Length)
        {
            throw new ArgumentException($"Destination has {destination.Length} values; expected at least steps·batch·hidden = {_lastSteps}·{_lastBatch}·{Config.Hidden} = {gates.Length}.", nameof(destination));
        }

        gates.CopyTo(destination);
        return gates.Length;
    }

    public void Dispose()
    {
        lock (_device.Gate)
        {
            _batch.Dispose();
        }
    }
}
