"""Loads a ForgetGate run checkpoint into PyTorch's own nn.LSTM / nn.GRU + nn.Linear (strict) and writes the logits.

Usage: /usr/bin/python3 load_run_checkpoint.py CHECKPOINT INPUT OUTPUT

CHECKPOINT: a run checkpoint (results/checkpoints/run-*/t*.safetensors) or a `forgetgate model` file.
INPUT: safetensors with F32 'input' [N, T, D]. OUTPUT: safetensors with F32 'logits' [N, C].
The safetensors format is read and written here with json + numpy (the `safetensors` package is not needed):
8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}, __metadata__}, then the bytes.
Prints the model metadata and the tensors it left out of the state_dict (optimizer and strategy state).
"""
import json
import struct
import sys

import numpy as np
import torch
from torch import nn


def read(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = blob[8 + n:]
    tensors = {}
    for name, t in header.items():
        assert t["dtype"] == "F32", (name, t["dtype"])
        start, end = t["data_offsets"]
        tensors[name] = torch.from_numpy(np.frombuffer(data[start:end], dtype="<f4").reshape(t["shape"]).copy())
    return meta, tensors


def write(path, name, array):
    array = np.ascontiguousarray(array, dtype="<f4")
    header = json.dumps({name: {"dtype": "F32", "shape": list(array.shape), "data_offsets": [0, array.nbytes]}}).encode()
    header += b" " * (-len(header) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + array.tobytes())


class Net(nn.Module):
    """The classifier the engine trains: a stacked recurrent layer, then a linear head on the last step's h."""

    def __init__(self, variant, input_size, hidden, layers, outputs):
        super().__init__()
        cell = {"lstm": nn.LSTM, "lstm-fb1": nn.LSTM, "chrono": nn.LSTM, "gru": nn.GRU}[variant]
        self.rnn = cell(input_size, hidden, layers, batch_first=True)
        self.head = nn.Linear(hidden, outputs)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


def main(checkpoint, input_path, output_path):
    meta, tensors = read(checkpoint)
    net = Net(meta["variant"], int(meta["input_size"]), int(meta["hidden"]), int(meta["layers"]), int(meta["outputs"]))
    state = {k: v for k, v in tensors.items() if k.startswith(("rnn.", "head."))}
    net.load_state_dict(state, strict=True)  # raises on a missing, unexpected or wrongly shaped tensor
    _, inputs = read(input_path)
    with torch.no_grad():
        logits = net(inputs["input"]).numpy()
    write(output_path, "logits", logits)
    left = sorted(k for k in tensors if k not in state)
    print(f"loaded {meta['variant']} strict; {len(state)} model tensors; {len(left)} state tensors beside them: "
          f"{', '.join(sorted({k.split('/')[0].split('.')[0] for k in left}))}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
