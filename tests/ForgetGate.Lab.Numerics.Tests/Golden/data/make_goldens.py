#!/usr/bin/python3
"""Golden files for ForgetGate.Lab's numeric engine, written by PyTorch 1.13 (Debian python3-torch).

Run from anywhere:  /usr/bin/python3 make_goldens.py   (writes next to this script, deterministic)
Reverse check (a checkpoint written by our C# code loads into PyTorch, strict names and shapes):
    /usr/bin/python3 make_goldens.py --check CKPT.safetensors INPUT.safetensors LOGITS.safetensors
  loads CKPT into the PyTorch model of its __metadata__, runs it on INPUT's 'input' and prints the
  largest difference to LOGITS' 'logits' (e.g. the output of `forgetgate predict`).

For each variant of DESIGN.md §4 and two shapes it writes
  ckpt_<variant>_l<L>.safetensors    the initial parameters as a model checkpoint (state_dict names of
                                     rnn + head, __metadata__ variant/input_size/hidden/layers/outputs)
  golden_<variant>_l<L>.safetensors  input [B,T,D], labels [B] (I64), logits [B,C], loss [] (mean CE),
                                     grad/<name> for every parameter, adam5/<name> = parameters after
                                     5 Adam steps (lr 1e-2, defaults otherwise) on the same batch.
and optim.safetensors: Adam (with weight decay), SGD (momentum + dampening + weight decay; Nesterov)
and clip_grad_norm_ results for hand-fed gradients, step by step.

lstm, lstm-fb1, chrono use nn.LSTM and gru uses nn.GRU (PyTorch's own kernels); cifg and ur-lstm are
explicit cells written from DESIGN.md §4, run through autograd. Safetensors is written by hand (the
`safetensors` package is not installed), which also shows that files written outside our code load.
"""
import json
import math
import os
import struct

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

DTYPES = {torch.float32: ("F32", "<f4"), torch.float64: ("F64", "<f8"),
          torch.int32: ("I32", "<i4"), torch.int64: ("I64", "<i8")}


def write_safetensors(path, tensors, metadata=None):
    """8-byte LE header length, JSON header (dtype, shape, data_offsets), raw little-endian data."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        dtype, np_dtype = DTYPES[t.dtype]
        blob = t.numpy().astype(np_dtype).tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def read_safetensors(path):
    """Inverse of write_safetensors (F32/F64/I32/I64); returns (tensors, metadata)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    metadata = header.pop("__metadata__", {})
    inverse = {v[0]: (k, v[1]) for k, v in DTYPES.items()}
    body = data[8 + n:]
    tensors = {}
    import numpy as np
    for name, e in header.items():
        begin, end = e["data_offsets"]
        dtype, np_dtype = inverse[e["dtype"]]
        tensors[name] = torch.from_numpy(np.frombuffer(body[begin:end], dtype=np_dtype).copy()).reshape(e["shape"]).to(dtype)
    return tensors, metadata


class ExplicitRNN(nn.Module):
    """cifg (gates f, g, o) and ur-lstm (gates f, r, u, o + forget_bias) exactly as DESIGN.md §4."""

    def __init__(self, variant, input_size, hidden, layers):
        super().__init__()
        self.variant, self.hidden, self.layers = variant, hidden, layers
        gates = 3 if variant == "cifg" else 4
        bound = 1.0 / math.sqrt(hidden)
        for k in range(layers):
            d = input_size if k == 0 else hidden
            for name, shape in [(f"weight_ih_l{k}", (gates * hidden, d)), (f"weight_hh_l{k}", (gates * hidden, hidden)),
                                (f"bias_ih_l{k}", (gates * hidden,)), (f"bias_hh_l{k}", (gates * hidden,))]:
                setattr(self, name, nn.Parameter(torch.empty(shape).uniform_(-bound, bound)))
            if variant == "ur-lstm":
                # Uniform gate init (Gu et al. 2020): b = -log(1/u - 1), u ~ U(1/H, 1 - 1/H).
                u = torch.empty(hidden).uniform_(1.0 / hidden, 1.0 - 1.0 / hidden)
                setattr(self, f"forget_bias_l{k}", nn.Parameter(-torch.log(1.0 / u - 1.0)))

    def forward(self, x):
        B, T, _ = x.shape
        H = self.hidden
        seq = x
        for k in range(self.layers):
            w_ih, w_hh = getattr(self, f"weight_ih_l{k}"), getattr(self, f"weight_hh_l{k}")
            b_ih, b_hh = getattr(self, f"bias_ih_l{k}"), getattr(self, f"bias_hh_l{k}")
            h = x.new_zeros(B, H)
            c = x.new_zeros(B, H)
            outs = []
            for t in range(T):
                z = seq[:, t] @ w_ih.t() + b_ih + h @ w_hh.t() + b_hh
                if self.variant == "cifg":
                    zf, zg, zo = z.split(H, dim=1)
                    f = torch.sigmoid(zf)
                    c = f * c + (1 - f) * torch.tanh(zg)
                    h = torch.sigmoid(zo) * torch.tanh(c)
                else:
                    b = getattr(self, f"forget_bias_l{k}")
                    zf, zr, zu, zo = z.split(H, dim=1)
                    phi = torch.sigmoid(zf + b)
                    rho = torch.sigmoid(zr - b)
                    gamma = rho * (1 - (1 - phi) ** 2) + (1 - rho) * phi ** 2
                    c = gamma * c + (1 - gamma) * torch.tanh(zu)
                    h = torch.sigmoid(zo) * torch.tanh(c)
                outs.append(h)
            seq = torch.stack(outs, dim=1)
        return seq, None


class Net(nn.Module):
    def __init__(self, variant, input_size, hidden, layers, outputs, steps):
        super().__init__()
        if variant in ("lstm", "lstm-fb1", "chrono"):
            self.rnn = nn.LSTM(input_size, hidden, layers, batch_first=True)
        elif variant == "gru":
            self.rnn = nn.GRU(input_size, hidden, layers, batch_first=True)
        else:
            self.rnn = ExplicitRNN(variant, input_size, hidden, layers)
        self.head = nn.Linear(hidden, outputs)
        H = hidden
        with torch.no_grad():
            for k in range(layers):
                b_ih, b_hh = getattr(self.rnn, f"bias_ih_l{k}"), getattr(self.rnn, f"bias_hh_l{k}")
                if variant == "lstm-fb1":
                    # Forget-gate bias total 1: set in bias_ih only, zero that slice of bias_hh.
                    b_ih[H:2 * H] = 1.0
                    b_hh[H:2 * H] = 0.0
                elif variant == "chrono":
                    # Tallec & Ollivier 2018: b_f = log(U(1, T_max - 1)), b_i = -b_f, other biases 0.
                    bf = torch.log(torch.empty(H).uniform_(1.0, steps - 1.0))
                    b_ih.zero_()
                    b_hh.zero_()
                    b_ih[H:2 * H] = bf
                    b_ih[0:H] = -bf

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1, :])


def make_case(variant, D, H, L, B, T, C, seed):
    torch.manual_seed(seed)
    net = Net(variant, D, H, L, C, T)
    x = torch.randn(B, T, D)
    labels = torch.randint(0, C, (B,))
    params = {f"{n}": p.detach().clone() for n, p in net.state_dict().items()}
    meta = {"format": "pt", "variant": variant, "input_size": D, "hidden": H, "layers": L, "outputs": C}
    write_safetensors(os.path.join(HERE, f"ckpt_{variant}_l{L}.safetensors"), params, meta)

    logits = net(x)
    loss = nn.functional.cross_entropy(logits, labels)
    loss.backward()
    out = {"input": x, "labels": labels, "logits": logits, "loss": loss.reshape(())}
    for n, p in net.named_parameters():
        out[f"grad/{n}"] = p.grad.detach().clone()  # clone: zero_grad() below reuses this tensor

    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(5):
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), labels).backward()
        opt.step()
    for n, p in net.named_parameters():
        out[f"adam5/{n}"] = p.detach().clone()
    write_safetensors(os.path.join(HERE, f"golden_{variant}_l{L}.safetensors"), out,
                      dict(meta, batch=B, steps=T, adam_lr="0.01", adam_steps=5, torch=torch.__version__))


def make_optim():
    """Optimizers and clipping on hand-fed gradients, so they are tested apart from any model."""
    torch.manual_seed(1234)
    shapes = {"a": (37,), "b": (4, 3)}
    p0 = {n: torch.randn(s) for n, s in shapes.items()}
    # Gradients of mixed scale (1e-4 … 1) so eps placement and bias correction matter.
    grads = [{n: torch.randn(s) * torch.exp(torch.empty(s).uniform_(-9, 0)) for n, s in shapes.items()} for _ in range(5)]
    out = {}
    for n in shapes:
        out[f"p0/{n}"] = p0[n]
        for s, g in enumerate(grads, 1):
            out[f"grad{s}/{n}"] = g[n]

    def run(tag, make_opt):
        ps = {n: nn.Parameter(p0[n].clone()) for n in shapes}
        opt = make_opt(list(ps.values()))
        for s, g in enumerate(grads, 1):
            for n in shapes:
                ps[n].grad = g[n].clone()
            opt.step()
            for n in shapes:
                out[f"{tag}/step{s}/{n}"] = ps[n].detach().clone()

    run("adam", lambda ps: torch.optim.Adam(ps, lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01))
    run("adam_default", lambda ps: torch.optim.Adam(ps, lr=1e-3))
    run("sgd", lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01))
    run("sgd_nesterov", lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.8, nesterov=True))
    run("sgd_plain", lambda ps: torch.optim.SGD(ps, lr=0.1))

    for tag, max_norm in (("clip", 0.5), ("noclip", 1e6)):
        ps = {n: nn.Parameter(p0[n].clone()) for n in shapes}
        for n in shapes:
            ps[n].grad = grads[0][n].clone() * 10
            out[f"{tag}/input/{n}"] = ps[n].grad.clone()
        total = torch.nn.utils.clip_grad_norm_(list(ps.values()), max_norm)
        out[f"{tag}/total_norm"] = total.reshape(())
        for n in shapes:
            out[f"{tag}/grad/{n}"] = ps[n].grad.clone()
    write_safetensors(os.path.join(HERE, "optim.safetensors"), out,
                      {"torch": torch.__version__, "clip_max_norm": "0.5", "noclip_max_norm": "1000000"})


def check(ckpt_path, input_path, logits_path):
    params, meta = read_safetensors(ckpt_path)
    steps = read_safetensors(input_path)[0]["input"].shape[1]
    net = Net(meta["variant"], int(meta["input_size"]), int(meta["hidden"]), int(meta["layers"]), int(meta["outputs"]), max(steps, 3))
    net.load_state_dict(params, strict=True)
    with torch.no_grad():
        logits = net(read_safetensors(input_path)[0]["input"])
    expected = read_safetensors(logits_path)[0]["logits"]
    diff = (logits - expected).abs().max().item()
    scale = expected.abs().max().item()
    print(f"{ckpt_path}: loaded strictly into PyTorch {meta['variant']}; max |logit diff| {diff:.3g} (max |logit| {scale:.3g})")
    return diff <= 1e-5 * max(scale, 1e-6)


if __name__ == "__main__":
    import sys
    if len(sys.argv) == 5 and sys.argv[1] == "--check":
        sys.exit(0 if check(*sys.argv[2:]) else 1)
    seed = 7
    for variant in ("lstm", "lstm-fb1", "cifg", "gru", "ur-lstm", "chrono"):
        seed += 1
        make_case(variant, D=7, H=13, L=1, B=4, T=5, C=3, seed=seed)
        make_case(variant, D=4, H=6, L=2, B=3, T=3, C=3, seed=seed + 100)
    make_optim()
    print("goldens written to", HERE)
