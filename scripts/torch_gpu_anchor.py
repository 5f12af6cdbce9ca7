"""PyTorch anchor for the GPU engine's bench (scripts/gpu-bench.sh): training throughput of nn.LSTM (cuDNN) on
row-by-row MNIST shapes (T=28 steps x D=28 features, 10 classes, Adam lr 1e-3, cross-entropy), measured on the
same GPU in the same run, with the data on the device as our bench keeps it. Adapted from
shared/anchors/torch_lstm_bench.py (the CPU anchor), timed with torch.cuda.synchronize().

Usage:  python3 torch_gpu_anchor.py [--hidden 128] [--batch 128] [--seconds 3] [--runs 64] [--device cuda|cpu]
Prints one line per measurement and, with --json, one JSON object per line as well.
  nn.LSTM train B=128          : one run, as a researcher trains it (the figure "single run" is compared with)
  nn.LSTM x N sequential       : N runs one after another = the same samples/s (stated, not re-measured)
  nn.LSTM train B=N*128        : one cuDNN call over N*128 rows, an upper bound that N runs with different
                                 weights cannot reach in PyTorch without batching the weights themselves
  python-cell LSTM train B=128 : a custom cell written as a Python loop (what a new gate design costs)
"""
import argparse, json, time

import torch
import torch.nn as nn

p = argparse.ArgumentParser()
p.add_argument("--hidden", type=int, default=128)
p.add_argument("--batch", type=int, default=128)
p.add_argument("--seconds", type=float, default=3.0)
p.add_argument("--runs", type=int, default=64)
p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
p.add_argument("--json", action="store_true")
a = p.parse_args()
H, B, T, D, C = a.hidden, a.batch, 28, 28, 10
dev = torch.device(a.device)
torch.manual_seed(0)
torch.backends.cudnn.benchmark = True


def sync():
    if dev.type == "cuda":
        torch.cuda.synchronize()


class Fused(nn.Module):
    def __init__(s):
        super().__init__(); s.rnn = nn.LSTM(D, H, batch_first=True); s.head = nn.Linear(H, C)

    def forward(s, x):
        out, _ = s.rnn(x); return s.head(out[:, -1])


class LoopCell(nn.Module):
    def __init__(s):
        super().__init__(); s.ih = nn.Linear(D, 4 * H); s.hh = nn.Linear(H, 4 * H, bias=False); s.head = nn.Linear(H, C)

    def forward(s, x):
        h = x.new_zeros(x.shape[0], H); c = x.new_zeros(x.shape[0], H); xp = s.ih(x)
        for t in range(T):
            i, f, g, o = (xp[:, t] + s.hh(h)).chunk(4, 1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g); h = torch.sigmoid(o) * torch.tanh(c)
        return s.head(h)


def train_rate(m, batch, seconds):
    m = m.to(dev)
    opt = torch.optim.Adam(m.parameters(), 1e-3); lossf = nn.CrossEntropyLoss()
    x = torch.randn(batch, T, D, device=dev); y = torch.randint(0, C, (batch,), device=dev)

    def step():
        opt.zero_grad(set_to_none=True); lossf(m(x), y).backward(); opt.step()

    for _ in range(5):
        step()
    sync()
    windows = []
    t_end = time.perf_counter() + seconds
    while len(windows) < 3 or time.perf_counter() < t_end:
        n = 0; t0 = time.perf_counter()
        while n < 2 or time.perf_counter() - t0 < seconds / 4:
            step(); n += 1
            if n % 8 == 0:
                sync()
        sync(); windows.append((time.perf_counter() - t0) / n)
    per_step = sorted(windows)[len(windows) // 2]
    return batch / per_step, per_step * 1000


def report(name, rate, ms, extra=None):
    print(f"torch {name}: {rate:,.0f} samples/s ({ms:.2f} ms/step)", flush=True)
    if a.json:
        d = {"model": name, "device": str(dev), "hidden": H, "samples_per_s": round(rate, 1), "ms_per_step": round(ms, 3)}
        d.update(extra or {})
        print(json.dumps(d), flush=True)


name = torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu"
print(f"torch {torch.__version__} device={dev} ({name}) cudnn={torch.backends.cudnn.version() if dev.type == 'cuda' else None} H={H} B={B} T={T} D={D}", flush=True)
single, ms = train_rate(Fused(), B, a.seconds)
report(f"nn.LSTM train B={B}", single, ms, {"batch": B})
print(f"torch nn.LSTM x {a.runs} runs one after another: {single:,.0f} samples/s in aggregate (the single-run rate; "
      f"{a.runs} runs take {a.runs}x the time of one)", flush=True)
big, ms = train_rate(Fused(), B * a.runs, a.seconds)
report(f"nn.LSTM train B={B * a.runs} (one batch of {a.runs}x{B} rows, shared weights: an upper bound)", big, ms, {"batch": B * a.runs})
loop, ms = train_rate(LoopCell(), B, a.seconds / 2)
report(f"python-cell LSTM train B={B}", loop, ms, {"batch": B})
