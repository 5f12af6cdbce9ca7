using ILGPU.Algorithms;

namespace ForgetGate.Lab.Gpu.Kernels;

/// <summary>Activations used inside kernels (scalar, per thread).</summary>
internal static class DeviceMath
{
    /// <summary>σ(x) = 1 / (1 + e^−x); saturates to 0 or 1 without NaN (e^−x = ∞ gives 0).</summary>
    public static float Sigmoid(float x) => 1f / (1f + XMath.Exp(-x));

    /// <summary>
    /// tanh(x) = 2σ(2x) − 1. Computed from exp on purpose: ILGPU lowers a tanh call to PTX's
    /// <c>tanh.approx.ftz.f32</c>, which CUDA 13's ptxas rejects. Absolute error ≈ 1e-7 near 0 (cancellation).
    /// </summary>
    public static float Tanh(float x) => (2f * Sigmoid(2f * x)) - 1f;
}
