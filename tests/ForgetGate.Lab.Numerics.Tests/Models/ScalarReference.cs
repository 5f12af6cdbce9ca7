using ForgetGate.Lab.Numerics.Models;

namespace ForgetGate.Lab.Numerics.Tests.Models;

/// <summary>
/// Straight-from-DESIGN.md §4 float64 forward pass over the PyTorch-layout parameters, written without any of the
/// engine's packing, padding or fusion, so it checks the equations and the layout independently.
/// </summary>
internal static class ScalarReference
{
    public static double[] Forward(RecurrentModel model, float[] x, int batch, int steps)
    {
        var cfg = model.Config;
        int h = cfg.Hidden;
        int g = cfg.Variant.GateCount();
        var logits = new double[batch * cfg.Outputs];
        for (int b = 0; b < batch; b++)
        {
            // inputs[t][d] of the current layer
            var inputs = new double[steps][];
            for (int t = 0; t < steps; t++)
            {
                inputs[t] = new double[cfg.InputSize];
                for (int d = 0; d < cfg.InputSize; d++)
                {
                    inputs[t][d] = x[(((b * steps) + t) * cfg.InputSize) + d];
                }
            }

            for (int k = 0; k < cfg.Layers; k++)
            {
                var wih = model.GetParameter($"rnn.weight_ih_l{k}").Value;
                var whh = model.GetParameter($"rnn.weight_hh_l{k}").Value;
                var bih = model.GetParameter($"rnn.bias_ih_l{k}").Value;
                var bhh = model.GetParameter($"rnn.bias_hh_l{k}").Value;
                var fb = cfg.Variant == Variant.UrLstm ? model.GetParameter($"rnn.forget_bias_l{k}").Value : null;
                int din = inputs[0].Length;
                var hPrev = new double[h];
                var cPrev = new double[h];
                var outputs = new double[steps][];
                for (int t = 0; t < steps; t++)
                {
                    var xi = new double[g * h];
                    var hi = new double[g * h];
                    for (int r = 0; r < g * h; r++)
                    {
                        double sx = bih[r];
                        for (int d = 0; d < din; d++)
                        {
                            sx += wih[(r * din) + d] * inputs[t][d];
                        }

                        double sh = bhh[r];
                        for (int v = 0; v < h; v++)
                        {
                            sh += whh[(r * h) + v] * hPrev[v];
                        }

                        xi[r] = sx;
                        hi[r] = sh;
                    }

                    var hNew = new double[h];
                    var cNew = new double[h];
                    for (int u = 0; u < h; u++)
                    {
                        double Z(int gate) => xi[(gate * h) + u] + hi[(gate * h) + u];
                        switch (cfg.Variant)
                        {
                            case Variant.Cifg:
                                {
                                    double f = Sig(Z(0));
                                    cNew[u] = (f * cPrev[u]) + ((1 - f) * Math.Tanh(Z(1)));
                                    hNew[u] = Sig(Z(2)) * Math.Tanh(cNew[u]);
                                    break;
                                }

                            case Variant.Gru:
                                {
                                    double r = Sig(Z(0));
                                    double z = Sig(Z(1));
                                    double n = Math.Tanh(xi[(2 * h) + u] + (r * hi[(2 * h) + u]));
                                    hNew[u] = ((1 - z) * n) + (z * hPrev[u]);
                                    break;
                                }

                            case Variant.UrLstm:
                                {
                                    double phi = Sig(Z(0) + fb![u]);
                                    double rho = Sig(Z(1) - fb[u]);
                                    double gamma = (rho * (1 - ((1 - phi) * (1 - phi)))) + ((1 - rho) * phi * phi);
                                    cNew[u] = (gamma * cPrev[u]) + ((1 - gamma) * Math.Tanh(Z(2)));
                                    hNew[u] = Sig(Z(3)) * Math.Tanh(cNew[u]);
                                    break;
                                }

                            default:
                                {
                                    double i = Sig(Z(0));
                                    double f = Sig(Z(1));
                                    cNew[u] = (f * cPrev[u]) + (i * Math.Tanh(Z(2)));
                                    hNew[u] = Sig(Z(3)) * Math.Tanh(cNew[u]);
                                    break;
                                }
                        }
                    }

                    hPrev = hNew;
                    cPrev = cNew;
                    outputs[t] = hNew;
                }

                inputs = outputs;
            }

            var hw = model.GetParameter("head.weight").Value;
            var hb = model.GetParameter("head.bias").Value;
            for (int c = 0; c < cfg.Outputs; c++)
            {
                double s = hb[c];
                for (int v = 0; v < h; v++)
                {
                    s += hw[(c * h) + v] * inputs[steps - 1][v];
                }

                logits[(b * cfg.Outputs) + c] = s;
            }
        }

        return logits;
    }

    private static double Sig(double v) => 1.0 / (1.0 + Math.Exp(-v));
}
