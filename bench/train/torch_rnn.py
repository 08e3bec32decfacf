#!/usr/bin/python3
"""PyTorch's side of bench/train: the same model, data and loop as dagrun's
train.gru / train.lstm / train.tcn / train.encoder_lstm, run the fastest
way PyTorch runs on a CPU here.

  torch_rnn.py MODEL DATA EPOCHS THREADS SEED INIT -> one JSON line
  torch_rnn.py probe MODEL DATA THREADS INIT       -> milliseconds per batch

MODEL: gru, lstm (2 layers of 128 and a linear head on the last step),
tcn, encoder_lstm (the architectures of tests/parity/tcn.py and
seq2seq.py, built from INIT's metadata as the parity tests build them).
INIT: a safetensors file of initial weights (dagrun's init.safetensors,
PyTorch's names), so that both sides start from the same point and differ
only in shuffling order and rounding.  'probe' times 30 batches (fewer past 2 s), for run.sh
to pick PyTorch's fastest threading on this machine, now.

DATA holds data.preprocess's windows (X_/Y_{train,val,test}.npy, meta.json).
Per epoch: the training windows shuffled (torch.randperm, seeded by SEED)
in batches of 64, MSE, Adam (lr 1e-3), then the validation loss under
no_grad; the epoch time covers both, as dagrun's epoch_seconds does, and
so does its CPU time (all threads: time.process_time).  Test
RMSE/MAE are on unscaled values, from the weights of the epoch with the
lowest validation loss, as dagrun's.  Fairness: torch.set_num_threads
(THREADS); run.sh picks THREADS, OMP_WAIT_POLICY and OPENBLAS_CORETYPE by
probing, and always sets OPENBLAS_NUM_THREADS=1 so that Debian's OpenBLAS
does not start a second pool of threads that fights PyTorch's (about 3x
slower without it)."""
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tests", "parity"))
from rnn_torch import read_safetensors  # noqa: E402
from seq2seq import torch_seq2seq  # noqa: E402
from tcn import torch_tcn  # noqa: E402


def unscale(meta, v):
    ts = meta.get("target_scaler", {})
    p = ts.get("params", ts)
    p = p.get(meta.get("target"), p) if isinstance(p, dict) else p
    if ts.get("kind") == "standard":
        return v * p["std"] + p["mean"]
    if ts.get("kind") == "minmax":
        return v * (p["max"] - p["min"]) + p["min"]
    return v


class Recurrent(torch.nn.Module):
    """nn.GRU / nn.LSTM, 2 layers of 128, and a head on the last step."""

    def __init__(self, cell, F, out):
        super().__init__()
        cls = torch.nn.GRU if cell == "gru" else torch.nn.LSTM
        self.rnn = cls(F, 128, num_layers=2, batch_first=True)
        self.head = torch.nn.Linear(128, out)

    def forward(self, x):
        return self.head(self.rnn(x)[0][:, -1, :])


def model(kind, F, out, init):
    """The network of 'kind' with the weights of the file 'init'."""
    w, meta = read_safetensors(init)
    if kind == "tcn":
        return torch_tcn(torch, w, meta)
    if kind == "encoder_lstm":
        return torch_seq2seq(torch, w, meta)
    m = Recurrent(kind, F, out)
    with torch.no_grad():
        for name, p in m.named_parameters():
            p.copy_(torch.from_numpy(w[name]))
    return m


def probe(kind, data, threads, init):
    torch.set_num_threads(threads)
    X = torch.from_numpy(np.load(f"{data}/X_train.npy"))[:64]
    Y = torch.from_numpy(np.load(f"{data}/Y_train.npy"))[:64]
    m = model(kind, X.shape[2], Y.shape[1], init)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    # 3 batches to warm up, then up to 30 timed, or fewer past 2 s: a
    # configuration that spins against the machine's load can take seconds
    # per batch, and losing the probe is all it needs to know
    for i in range(33):
        if i == 3:
            t0 = time.perf_counter()
        opt.zero_grad()
        torch.nn.functional.mse_loss(m(X), Y).backward()
        opt.step()
        if i >= 3 and time.perf_counter() - t0 > 2:
            break
    print(f"{(time.perf_counter() - t0) / (i - 2) * 1000:.2f}")


def main(kind, data, epochs, threads, seed, init):
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    load = lambda n: torch.from_numpy(np.load(f"{data}/{n}.npy"))
    X = {k: load("X_" + k) for k in ("train", "val", "test")}
    Y = {k: load("Y_" + k) for k in ("train", "val", "test")}
    meta = json.load(open(f"{data}/meta.json"))
    m = model(kind, X["train"].shape[2], Y["train"].shape[1], init)
    params = list(m.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    mse = torch.nn.MSELoss()

    times, cpu, n, B = [], [], X["train"].shape[0], 64
    best_val, best = float("inf"), None
    for _ in range(epochs):
        t0, c0 = time.perf_counter(), time.process_time()
        perm = torch.randperm(n)
        for i in range(0, n, B):
            idx = perm[i:i + B]
            opt.zero_grad()
            loss = mse(m(X["train"][idx]), Y["train"][idx])
            loss.backward()
            opt.step()
        with torch.no_grad():
            val = mse(m(X["val"]), Y["val"]).item()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        if val < best_val:   # dagrun keeps the best epoch's weights too
            best_val = val
            best = [p.detach().clone() for p in params]
    with torch.no_grad():
        for p, b in zip(params, best):
            p.copy_(b)
        p = unscale(meta, m(X["test"]).numpy().astype(np.float64))
    y = unscale(meta, Y["test"].numpy().astype(np.float64))
    print(json.dumps({"cell": kind, "seed": seed, "epoch_seconds": times,
                      "epoch_cpu_seconds": cpu,
                      "val_loss": best_val,
                      "rmse": float(np.sqrt(np.mean((p - y) ** 2))),
                      "mae": float(np.mean(np.abs(p - y))),
                      "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    if sys.argv[1] == "probe":
        probe(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    else:
        main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]),
             sys.argv[6])
