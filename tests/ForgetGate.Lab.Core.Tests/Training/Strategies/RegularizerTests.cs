using ForgetGate.Lab.Core.Training;
using ForgetGate.Lab.Core.Training.Strategies;
using ForgetGate.Lab.Numerics.Models;
using ForgetGate.Lab.Numerics.Optim;
using ForgetGate.Lab.Numerics.Random;

namespace ForgetGate.Lab.Core.Tests.Training.Strategies;

public sealed class RegularizerTests
{
    [Fact]
    public void SiOmega_QuadraticLossWithSgd_MatchesClosedForm()
    {
        // L(θ) = ½ Σ a_i (θ_i − μ_i)². SGD with rate η: θ_t − μ = r^t d₀ with r = 1 − ηa, g_t = a r^t d₀, Δθ_t = −η g_t, so
        // ω = Σ_t −g_t·Δθ_t = η a² d₀² Σ_{t<T} r^{2t} = η a² d₀² (1 − r^{2T}) / (1 − r²), and at the task's end
        // Ω = ω / ((θ_T − θ₀)² + ξ) with θ_T − θ₀ = (r^T − 1) d₀.
        double[] a = [0.5, 2.0, 4.0];
        double[] mu = [1.0, -2.0, 0.25];
        double[] theta0 = [-1.0, 0.5, 1.0];
        const double eta = 0.05;
        const double xi = 0.1;
        const int steps = 40;
        var w = new Parameter("w", 3);
        for (int i = 0; i < 3; i++)
        {
            w.Value[i] = (float)theta0[i];
        }

        Parameter[] parameters = [w];
        var si = new SiStrategy(parameters, c: 0.7, xi: xi);
        var sgd = new Sgd(parameters, (float)eta);
        si.BeforeTask(0, null!);
        var root = new Rng(1);
        for (int t = 0; t < steps; t++)
        {
            for (int i = 0; i < 3; i++)
            {
                w.Gradient[i] = (float)(a[i] * (w.Value[i] - mu[i]));
            }

            Assert.Equal(0, si.AdjustGradients(parameters)); // no penalty during the first task
            sgd.Step();
            si.AfterBatch(0, 0, t, [], [], root);
        }

        for (int i = 0; i < 3; i++)
        {
            double r = 1 - (eta * a[i]);
            double d0 = theta0[i] - mu[i];
            double omega = eta * a[i] * a[i] * d0 * d0 * (1 - Math.Pow(r, 2 * steps)) / (1 - (r * r));
            Assert.True(Math.Abs(si.Omega[0][i] - omega) <= 1e-5 * omega, $"ω[{i}] = {si.Omega[0][i]}, closed form {omega}");
        }

        si.AfterTask(0, root, null!);
        var big = new double[3];
        for (int i = 0; i < 3; i++)
        {
            double r = 1 - (eta * a[i]);
            double d0 = theta0[i] - mu[i];
            double omega = eta * a[i] * a[i] * d0 * d0 * (1 - Math.Pow(r, 2 * steps)) / (1 - (r * r));
            double moved = (Math.Pow(r, steps) - 1) * d0;
            big[i] = omega / ((moved * moved) + xi);
            Assert.True(Math.Abs(si.Importance[0][i] - big[i]) <= 1e-5 * big[i], $"Ω[{i}] = {si.Importance[0][i]}, closed form {big[i]}");
            Assert.Equal(0f, si.Omega[0][i]); // ω restarts for the next task
        }

        // Second task: penalty c·Σ Ω (θ − θ*)² and its gradient 2c·Ω(θ − θ*) with θ* the first task's end.
        var anchor = w.Value.ToArray();
        w.Value[0] += 0.5f;
        Array.Clear(w.Gradient);
        double penalty = si.AdjustGradients(parameters);
        Assert.Equal(0.7 * big[0] * 0.25, penalty, 4);
        Assert.Equal(2 * 0.7 * big[0] * 0.5, w.Gradient[0], 4);
        Assert.Equal(0f, w.Gradient[1]);
        Assert.Equal(anchor[1], w.Value[1]);
    }

    [Theory]
    [InlineData(Variant.Lstm, 1, false)]
    [InlineData(Variant.Gru, 2, false)]
    [InlineData(Variant.Cifg, 1, true)]
    public void MasImportance_SmallModel_MatchesFiniteDifferences(Variant variant, int layers, bool multiHead)
    {
        // Ω = (1/N) Σ_x |∂‖f(x)‖² / ∂θ| from one backward pass per sample, against central differences of ‖f(x)‖²
        // through the float32 engine (step 1e-2: truncation O(h²) ≈ 1e-4 relative, rounding ≈ 1e-7/h ≈ 1e-5).
        var data = new ToyTasks(tasks: 2, trainPerTask: 5, testPerTask: 2, seed: 4, multiHead: multiHead, steps: 3, inputSize: 2);
        var config = new RecurrentModelConfig(variant, data.InputSize, 3, layers, data.Outputs).Validate();
        using var model = new RecurrentModel(config);
        model.Initialize(new Rng(77), data.Steps);
        var host = new StrategyTestModel(data, model);
        var mas = new MasStrategy(model.Parameters, lambda: 1);
        mas.AfterTask(1, new Rng(1), host);

        const float h = 1e-2f;
        for (int p = 0; p < model.Parameters.Count; p++)
        {
            var parameter = model.Parameters[p];
            for (int i = 0; i < parameter.Length; i++)
            {
                double expected = 0;
                for (int s = 0; s < data.Count(1, DataSplit.Train); s++)
                {
                    var sample = new SampleRef(1, s);
                    float keep = parameter.Value[i];
                    parameter.Value[i] = keep + h;
                    double up = SquaredNorm(host.Run(sample, false), data.AllowedClasses(1));
                    parameter.Value[i] = keep - h;
                    double down = SquaredNorm(host.Run(sample, false), data.AllowedClasses(1));
                    parameter.Value[i] = keep;
                    expected += Math.Abs((up - down) / (2 * h));
                }

                expected /= data.Count(1, DataSplit.Train);
                double actual = mas.Importance[p][i];
                Assert.True(Math.Abs(actual - expected) <= 2e-3 + (1e-2 * expected), $"{parameter.Name}[{i}]: Ω = {actual}, finite differences {expected}");
            }
        }

        // Penalty λ·Σ Ω (θ − θ*)² after a move of one weight.
        var first = model.Parameters[0];
        first.Value[0] += 0.1f;
        foreach (var parameter in model.Parameters)
        {
            Array.Clear(parameter.Gradient);
        }

        double penalty = mas.AdjustGradients(model.Parameters);
        Assert.Equal(mas.Importance[0][0] * 0.01, penalty, 5);
        Assert.Equal(2 * mas.Importance[0][0] * 0.1, first.Gradient[0], 4);
    }

    private static double SquaredNorm(float[] output, ReadOnlySpan<int> allowed)
    {
        double sum = 0;
        if (allowed.IsEmpty)
        {
            foreach (float v in output)
            {
                sum += (double)v * v;
            }

            return sum;
        }

        foreach (int c in allowed)
        {
            sum += (double)output[c] * output[c];
        }

        return sum;
    }
}
