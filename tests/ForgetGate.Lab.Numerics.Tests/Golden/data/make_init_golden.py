#!/usr/bin/python3
"""Golden for `model.init: linear`, written by PyTorch 1.13 (Debian python3-torch).

Run from anywhere:  /usr/bin/python3 make_init_golden.py   (writes init_linear_cifg.safetensors next to this script)

Issue 13 compares our `cifg` with a hand-written PyTorch CIFG: the cell built from nn.Linear layers, the way a
researcher writes one outside nn.LSTM. This script builds exactly that cell (2 layers, D = 28 inputs per step as a
Fashion-MNIST row, H = 64 as experiments/quick.yaml, a 10-class nn.Linear head) and records what PyTorch's own
constructors draw, under our state_dict names so the C# test can line them up:

  x2h = nn.Linear(D_k, 3H)              -> rnn.weight_ih_l{k} [3H, D_k], rnn.bias_ih_l{k} [3H]  (the one bias)
  h2h = nn.Linear(H, 3H, bias=False)    -> rnn.weight_hh_l{k} [3H, H]; no hidden-side bias
  head = nn.Linear(H, C)                -> head.weight [C, H], head.bias [C]

D_0 = 28, D_1 = H (layer 2 reads layer 1's h). nn.Linear draws its weight with kaiming_uniform_(a=sqrt(5)):
gain = sqrt(2 / (1 + a^2)) = sqrt(1/3), bound = gain * sqrt(3 / fan_in) = 1/sqrt(fan_in); and its bias with
U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (torch/nn/modules/linear.py, reset_parameters). The script does not assume
this: it records the bound the way PyTorch computes it (torch.nn.init._calculate_fan_in_and_fan_out and the same
formula) and the C# test also checks the drawn values against it.

__metadata__ (strings):
  bound/<name>   the bound of every recorded tensor, as PyTorch computes it
  fan_in/<name>  its fan_in
  absent         the tensors our layout has that the hand-written cell does not (comma-separated): the
                 hidden-side biases. Our `linear` init keeps them (the layout is PyTorch's nn.LSTM one) at zero,
                 which computes the same function as their absence at initialisation.
  draws          how many independent constructions are stacked in each tensor (first dimension)

Every recorded tensor holds R = 2 independent constructions stacked on a new first axis, so the test's
two-sample Kolmogorov-Smirnov statistic has enough samples even for the 192-wide biases.
"""
import math
import os
import sys

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_goldens import write_safetensors  # noqa: E402  (same hand-written safetensors writer)

torch.set_num_threads(1)
D, H, C, LAYERS, DRAWS = 28, 64, 10, 2, 2


class HandWrittenCIFGCell(nn.Module):
    """A researcher's CIFG: gates f, g, o from nn.Linear layers; one bias, on the input side."""

    def __init__(self, input_size, hidden):
        super().__init__()
        self.x2h = nn.Linear(input_size, 3 * hidden)
        self.h2h = nn.Linear(hidden, 3 * hidden, bias=False)

    def forward(self, x, h, c):
        f, g, o = (self.x2h(x) + self.h2h(h)).chunk(3, dim=1)
        f = torch.sigmoid(f)
        c = f * c + (1 - f) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c


class HandWrittenCIFG(nn.Module):
    def __init__(self):
        super().__init__()
        self.cells = nn.ModuleList([HandWrittenCIFGCell(D if k == 0 else H, H) for k in range(LAYERS)])
        self.head = nn.Linear(H, C)


def ours(torch_name):
    """Our state_dict name for a hand-written module's parameter."""
    if torch_name.startswith("head."):
        return torch_name
    _, k, module, kind = torch_name.split(".")
    side = "ih" if module == "x2h" else "hh"
    return f"rnn.{kind}_{side}_l{k}"


def main():
    torch.manual_seed(13)
    models = [HandWrittenCIFG() for _ in range(DRAWS)]
    tensors, metadata = {}, {"draws": DRAWS}
    for name, _ in models[0].named_parameters():
        stacked = torch.stack([dict(m.named_parameters())[name].detach() for m in models])
        mine = ours(name)
        tensors[mine] = stacked
        # The fan_in PyTorch uses: a weight's is its second dimension; a bias's is its layer's weight's.
        weight = dict(models[0].named_parameters())[name.rsplit(".", 1)[0] + ".weight"]
        fan_in, _ = nn.init._calculate_fan_in_and_fan_out(weight)
        gain = nn.init.calculate_gain("leaky_relu", math.sqrt(5))
        bound = gain * math.sqrt(3.0 / fan_in) if name.endswith(".weight") else 1.0 / math.sqrt(fan_in)
        metadata[f"fan_in/{mine}"] = fan_in
        metadata[f"bound/{mine}"] = repr(bound)
        assert stacked.abs().max().item() <= bound, name
    metadata["absent"] = ",".join(f"rnn.bias_hh_l{k}" for k in range(LAYERS))
    metadata["shape"] = f"D={D},H={H},C={C},layers={LAYERS},variant=cifg"
    write_safetensors(os.path.join(HERE, "init_linear_cifg.safetensors"), tensors, metadata)
    for name, t in tensors.items():
        print(f"{name:20s} {tuple(t.shape)} bound {float(metadata['bound/' + name]):.6f} "
              f"max|x| {t.abs().max().item():.6f} mean {t.mean().item():+.5f} var {t.var().item():.6f}")


if __name__ == "__main__":
    main()
