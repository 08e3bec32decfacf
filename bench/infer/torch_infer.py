#!/usr/bin/python3
"""PyTorch's side of bench/infer: the same network, weights and windows as
dagrun's infer_bench, forward only, under torch.inference_mode().

  torch_infer.py MODEL.safetensors WINDOWS.npy PRED.npy THREADS REPS -> one JSON line

MODEL.safetensors is dagrun's (PyTorch's names, the architecture in its
metadata); WINDOWS.npy the windows dagrun ran, PRED.npy its scaled
outputs, to check both compute the same function (max_abs_diff).
Timings, best of REPS after a warm-up: batch_s, every window in one
forward call (batch_cpu_s, its CPU time, of every thread); single_s, one
call per window (best of 2).  run.sh sets
OPENBLAS_NUM_THREADS=1 and picks THREADS and OMP_WAIT_POLICY."""
import json
import os
import struct
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "train"))
from torch_rnn import read_safetensors  # noqa: E402  (the same reader as bench/train)


def metadata(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n))["__metadata__"]


def build(path):
    meta, w = metadata(path), read_safetensors(path)
    cls = torch.nn.GRU if meta["cell"] == "gru" else torch.nn.LSTM
    rnn = cls(int(meta["input_size"]), int(meta["hidden_size"]),
              num_layers=int(meta["num_layers"]), batch_first=True)
    head = torch.nn.Linear(int(meta["hidden_size"]), int(meta["output_size"]))
    with torch.no_grad():
        for name, p in rnn.named_parameters():
            p.copy_(torch.from_numpy(w["rnn." + name]))
        for name, p in head.named_parameters():
            p.copy_(torch.from_numpy(w["head." + name]))
    return rnn.eval(), head.eval()


def main(model, windows, pred, threads, reps):
    torch.set_num_threads(threads)
    rnn, head = build(model)
    X = torch.from_numpy(np.load(windows))
    forward = lambda x: head(rnn(x)[0][:, -1, :])
    with torch.inference_mode():
        y = forward(X).numpy()
        batch, batch_cpu = [], []
        for _ in range(reps):
            t, c = time.perf_counter(), time.process_time()
            forward(X)
            batch.append(time.perf_counter() - t)
            batch_cpu.append(time.process_time() - c)
        single = []
        for _ in range(2):
            t = time.perf_counter()
            for i in range(X.shape[0]):
                forward(X[i:i + 1])
            single.append(time.perf_counter() - t)
    print(json.dumps({"side": "torch", "threads": threads, "batch_s": min(batch),
                      "batch_cpu_s": min(batch_cpu),
                      "single_s": min(single), "torch": torch.__version__,
                      "max_abs_diff": float(np.abs(y - np.load(pred)).max())}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
