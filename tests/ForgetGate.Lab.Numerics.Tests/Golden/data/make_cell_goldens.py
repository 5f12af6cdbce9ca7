#!/usr/bin/python3
"""PyTorch 1.13 golden files for the shipped cell files (experiments/cells/*.yaml, DESIGN.md §4b).

Run from anywhere:  /usr/bin/python3 make_cell_goldens.py   (writes next to this script, deterministic)

Each cell is written here in PyTorch directly from the equations of DESIGN.md §4b (lstm-generic is PyTorch's own
nn.LSTM, the strongest oracle there is), NOT generated from the cell file, so the golden is an independent check of
our parser, checker, generic forward and reverse-mode backward. The cell file is read only to put its definition
into the checkpoint's __metadata__ 'cell' (so the test loads the shipped file's equations exactly as a run would).

For each cell and case it writes
  cell_ckpt_<cell>_<case>.safetensors    the initial parameters in §4b's checkpoint layout: rnn.weight_ih_l{k}
                                         [G·H, D] in declared block order, rnn.weight_hh_l{k}/bias_hh_l{k} over the
                                         recurrent blocks only (absent when none), params rnn.<name>_l{k} [H], head;
                                         __metadata__ variant, input_size, hidden, layers, outputs, cell (JSON)
  cell_golden_<cell>_<case>.safetensors  input [B,T,D], labels [B] (I64), logits [B,C], loss [] (mean CE),
                                         grad/<name> for every parameter, adam3/<name> = parameters after 3 Adam
                                         steps (lr 1e-2, PyTorch defaults otherwise) on the same batch.
Cases: h13_l1_b1 (D=7, H=13, 1 layer, B=1, T=5) and h5_l2_b3 (D=4, H=5, 2 layers, B=3, T=4).

It also prints, per case, the largest difference between this float32 golden and the same computation in
float64 (relative to each tensor's largest element): the rounding a float32 implementation carries, which is
what the C# test's tolerance is built from.
"""
import json
import math
import os
import sys

import torch
import yaml
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_goldens import write_safetensors  # noqa: E402  (the hand-written safetensors writer beside this)

CELLS_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "..", "..", "experiments", "cells"))
torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

# name: (blocks in declared order, input-only?, extra states, per-unit params)
CELLS = {
    "lstm-generic": (["i", "f", "g", "o"], False, [], []),
    "slstm": (["i", "f", "z", "o"], False, ["c", "n", "m"], []),
    "janet": (["f", "g"], False, [], []),
    "peephole": (["i", "f", "g", "o"], False, ["c"], ["p_i", "p_f", "p_o"]),
    "minlstm": (["f", "i", "u"], True, [], []),
}


def step(cell, z, h, s, p):
    """One step of DESIGN.md §4b's table: z = {block: pre-activation [B,H]}, s = states, p = params; returns (h', s')."""
    sig = torch.sigmoid
    if cell == "slstm":
        lf = nn.functional.logsigmoid(z["f"])
        m = torch.maximum(lf + s["m"], z["i"])
        i_ = torch.exp(z["i"] - m)
        f_ = torch.exp(lf + s["m"] - m)
        c = f_ * s["c"] + i_ * torch.tanh(z["z"])
        n = f_ * s["n"] + i_
        return sig(z["o"]) * c / n, {"c": c, "n": n, "m": m}
    if cell == "janet":
        return sig(z["f"]) * h + (1 - sig(z["f"] - 1)) * torch.tanh(z["g"]), {}
    if cell == "peephole":
        i_ = sig(z["i"] + p["p_i"] * s["c"])
        f_ = sig(z["f"] + p["p_f"] * s["c"])
        c = f_ * s["c"] + i_ * torch.tanh(z["g"])
        return sig(z["o"] + p["p_o"] * c) * torch.tanh(c), {"c": c}
    if cell == "minlstm":
        f_, i_ = sig(z["f"]), sig(z["i"])
        u = z["u"]
        g = torch.where(u >= 0, u + 0.5, sig(u))
        return f_ / (f_ + i_) * h + i_ / (f_ + i_) * g, {}
    raise ValueError(cell)


class CellRNN(nn.Module):
    """A stacked cell: h of layer k is x of layer k+1; every state and h start at 0."""

    def __init__(self, cell, input_size, hidden, layers):
        super().__init__()
        blocks, input_only, states, params = CELLS[cell]
        self.cell, self.blocks, self.input_only, self.states, self.params = cell, blocks, input_only, states, params
        self.hidden, self.layers = hidden, layers
        G, H = len(blocks), hidden
        bound = 1.0 / math.sqrt(H)
        for k in range(layers):
            d = input_size if k == 0 else H
            shapes = [(f"weight_ih_l{k}", (G * H, d))]
            if not input_only:
                shapes.append((f"weight_hh_l{k}", (G * H, H)))
            shapes.append((f"bias_ih_l{k}", (G * H,)))
            if not input_only:
                shapes.append((f"bias_hh_l{k}", (G * H,)))
            shapes += [(f"{q}_l{k}", (H,)) for q in params]  # params: default init U(-1/sqrt(H), 1/sqrt(H))
            for name, shape in shapes:
                setattr(self, name, nn.Parameter(torch.empty(shape).uniform_(-bound, bound)))

    def forward(self, x):
        B, T, _ = x.shape
        H = self.hidden
        seq = x
        for k in range(self.layers):
            w_ih, b_ih = getattr(self, f"weight_ih_l{k}"), getattr(self, f"bias_ih_l{k}")
            p = {q: getattr(self, f"{q}_l{k}") for q in self.params}
            h = x.new_zeros(B, H)
            s = {name: x.new_zeros(B, H) for name in self.states}
            outs = []
            for t in range(T):
                a = seq[:, t] @ w_ih.t() + b_ih
                if not self.input_only:
                    a = a + h @ getattr(self, f"weight_hh_l{k}").t() + getattr(self, f"bias_hh_l{k}")
                z = dict(zip(self.blocks, a.split(H, dim=1)))
                h, s = step(self.cell, z, h, s, p)
                outs.append(h)
            seq = torch.stack(outs, dim=1)
        return seq, None


class Net(nn.Module):
    def __init__(self, cell, input_size, hidden, layers, outputs, steps):
        super().__init__()
        self.rnn = nn.LSTM(input_size, hidden, layers, batch_first=True) if cell == "lstm-generic" else CellRNN(cell, input_size, hidden, layers)
        self.head = nn.Linear(hidden, outputs)
        H = hidden
        with torch.no_grad():
            for k in range(layers):
                # §4b: a block's init sets bias_ih of that block and zeroes the same block of bias_hh.
                b_ih, b_hh = getattr(self.rnn, f"bias_ih_l{k}"), getattr(self.rnn, f"bias_hh_l{k}", None)
                if cell == "slstm":  # f: linspace(3, 6) across units; f is block 1
                    b_ih[H:2 * H] = torch.linspace(3.0, 6.0, H)
                    b_hh[H:2 * H] = 0.0
                elif cell == "janet":  # f: chrono, log U(1, T - 1); f is block 0
                    b_ih[0:H] = torch.log(torch.empty(H).uniform_(1.0, steps - 1.0))
                    b_hh[0:H] = 0.0

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1, :])


def cell_json(cell):
    """The cell file's definition in CellDefinition.ToJson's form (keys in that order; step without trailing newline)."""
    with open(os.path.join(CELLS_DIR, f"{cell}.yaml"), encoding="utf-8") as f:
        d = yaml.safe_load(f)
    out = {"name": d["name"], "description": d.get("description", ""), "gates": d.get("gates", []),
           "input_only": d.get("input_only", []) or [], "states": d.get("states", []) or [],
           "params": {k: str(v) for k, v in (d.get("params") or {}).items()},
           "init": {k: str(v) for k, v in (d.get("init") or {}).items()},
           "step": d["step"].rstrip("\n \t"), "forget": d.get("forget")}
    assert out["gates"] == CELLS[cell][0], f"{cell}: the cell file's blocks {out['gates']} differ from this script's"
    return json.dumps(out, ensure_ascii=False, separators=(",", ":"))


def train(net, x, labels, adam_steps):
    """Logits, loss, gradients of the first step and the parameters after adam_steps Adam steps."""
    logits = net(x)
    loss = nn.functional.cross_entropy(logits, labels)
    loss.backward()
    out = {"logits": logits.detach().clone(), "loss": loss.detach().reshape(())}
    for n, p in net.named_parameters():
        out[f"grad/{n}"] = p.grad.detach().clone()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(adam_steps):
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), labels).backward()
        opt.step()
    for n, p in net.named_parameters():
        out[f"adam{adam_steps}/{n}"] = p.detach().clone()
    return out


def make_case(cell, tag, D, H, L, B, T, C, seed, adam_steps=3):
    torch.manual_seed(seed)
    net = Net(cell, D, H, L, C, T)
    x = torch.randn(B, T, D)
    labels = torch.randint(0, C, (B,))
    params = {n: p.detach().clone() for n, p in net.state_dict().items()}
    meta = {"format": "pt", "variant": cell, "input_size": D, "hidden": H, "layers": L, "outputs": C, "cell": cell_json(cell)}
    write_safetensors(os.path.join(HERE, f"cell_ckpt_{cell}_{tag}.safetensors"), params, meta)

    out = train(net, x, labels, adam_steps)
    golden = {"input": x, "labels": labels, **out}
    write_safetensors(os.path.join(HERE, f"cell_golden_{cell}_{tag}.safetensors"), golden,
                      {"variant": cell, "batch": B, "steps": T, "adam_lr": "0.01", "adam_steps": adam_steps, "torch": torch.__version__})

    # The same computation in float64 from the same parameters: how far float32 rounding alone moves each tensor.
    net64 = Net(cell, D, H, L, C, T).double()
    net64.load_state_dict({n: p.double() for n, p in params.items()})
    out64 = train(net64, x.double(), labels, adam_steps)
    worst = {}
    for key, v in out.items():
        kind = key.split("/")[0]
        ref = out64[key]
        scale = max(ref.abs().max().item(), 1e-6)
        if kind.startswith("adam"):
            # Adam normalises per element, so compare the update (p_after - p_before) relative to its largest element.
            before = params[key.split("/", 1)[1]].double()
            scale = max((ref - before).abs().max().item(), 1e-6)
        worst[kind] = max(worst.get(kind, 0.0), (v.double() - ref).abs().max().item() / scale)
    print(f"{cell:13s} {tag}: float32 vs float64 relative error " + ", ".join(f"{k} {v:.2g}" for k, v in worst.items()))


if __name__ == "__main__":
    seed = 1400
    for cell in CELLS:
        seed += 1
        make_case(cell, "h13_l1_b1", D=7, H=13, L=1, B=1, T=5, C=3, seed=seed)
        make_case(cell, "h5_l2_b3", D=4, H=5, L=2, B=3, T=4, C=3, seed=seed + 100)
    print("cell goldens written to", HERE)
