using BenchmarkDotNet.Attributes;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Random;
using ForgetGate.Lab.Numerics.Threading;

namespace ForgetGate.Lab.Benchmarks.Models;

/// <summary>
/// One training step (Forward + Backward, no optimizer) and one inference pass of every variant at the row-MNIST
/// shape (T = 28, D = 28, 10 classes). MemoryDiagnoser shows the step allocates nothing after warm-up.
/// Run: <c>dotnet run -c Release --project tests/ForgetGate.Lab.Benchmarks -- --filter '*RecurrentModel*'</c>.
/// </summary>
[MemoryDiagnoser]
public class RecurrentModelBenchmarks : IDisposable
{
    private const int Steps = 28;
    private const int Input = 28;
    private const int Classes = 10;
    private ComputePool _pool = null!;
    private RecurrentModel _model = null!;
    private float[] _x = [];
    private float[] _logits = [];
    private float[] _dLogits = [];

    [Params("lstm", "cifg", "gru", "ur-lstm")]
    public string Variant { get; set; } = "lstm";

    [Params(128)]
    public int Hidden { get; set; }

    [Params(128)]
    public int Batch { get; set; }

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _pool = new ComputePool(Threads);
        _model = new RecurrentModel(new RecurrentModelConfig(Variants.Parse(Variant), Input, Hidden, 1, Classes), _pool);
        var rng = new Rng(7);
        _model.Initialize(rng.Split("init"), Steps);
        _x = new float[Batch * Steps * Input];
        rng.Split("x").FillUniform(_x, -1f, 1f);
        _logits = new float[Batch * Classes];
        _dLogits = new float[Batch * Classes];
        rng.Split("d").FillUniform(_dLogits, -0.01f, 0.01f);
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _model?.Dispose();
        _pool?.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark]
    public void TrainStep()
    {
        _model.Forward(_x, Batch, Steps, _logits, training: true);
        _model.Backward(_dLogits);
    }

    [Benchmark]
    public void Inference() => _model.Forward(_x, Batch, Steps, _logits, training: false);
}
