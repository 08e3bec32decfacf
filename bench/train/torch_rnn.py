#!/usr/bin/python3
"""PyTorch's side of bench/train: the same model, data and loop as dagrun's
train.gru / train.lstm, run the fastest way PyTorch runs on a CPU here.

  torch_rnn.py CELL DATA EPOCHS THREADS SEED [INIT] -> one JSON line
  torch_rnn.py probe CELL DATA THREADS          -> milliseconds per batch

INIT: a safetensors file of initial weights (dagrun's init.safetensors,
PyTorch's names), so that both sides start from the same point and differ
only in shuffling order and rounding.  'probe' times 30 batches, for run.sh
to pick PyTorch's fastest threading on this machine, now.

DATA holds data.preprocess's windows (X_/Y_{train,val,test}.npy, meta.json).
Per epoch: the training windows shuffled (torch.randperm) in batches of 64,
MSE, Adam (lr 1e-3), then the validation loss under no_grad; the epoch time
covers both, as dagrun's epoch_seconds does.  Test RMSE/MAE are on unscaled
values, from the weights of the epoch with the lowest validation loss, as
dagrun's.  Fairness: torch.set_num_threads(THREADS); run.sh picks THREADS
and OMP_WAIT_POLICY by probing, and always sets OPENBLAS_NUM_THREADS=1 so
that Debian's OpenBLAS does not start a second pool of threads that fights
PyTorch's (about 3x slower without it)."""
import json
import struct
import sys
import time

import numpy as np
import torch


def unscale(meta, v):
    ts = meta.get("target_scaler", {})
    p = ts.get("params", ts)
    p = p.get(meta.get("target"), p) if isinstance(p, dict) else p
    if ts.get("kind") == "standard":
        return v * p["std"] + p["mean"]
    if ts.get("kind") == "minmax":
        return v * (p["max"] - p["min"]) + p["min"]
    return v


def read_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8:8 + n])
    header.pop("__metadata__", None)
    return {k: np.frombuffer(buf[8 + n + t["data_offsets"][0]:8 + n + t["data_offsets"][1]],
                             dtype="<f4").reshape(t["shape"]).copy() for k, t in header.items()}


def model(cell, F, out, init):
    cls = torch.nn.GRU if cell == "gru" else torch.nn.LSTM
    rnn = cls(F, 128, num_layers=2, batch_first=True)
    head = torch.nn.Linear(128, out)
    if init:
        w = read_safetensors(init)
        with torch.no_grad():
            for name, p in list(rnn.named_parameters()):
                p.copy_(torch.from_numpy(w["rnn." + name]))
            for name, p in list(head.named_parameters()):
                p.copy_(torch.from_numpy(w["head." + name]))
    return rnn, head


def probe(cell, data, threads):
    torch.set_num_threads(threads)
    X = torch.from_numpy(np.load(f"{data}/X_train.npy"))[:64]
    Y = torch.from_numpy(np.load(f"{data}/Y_train.npy"))[:64]
    rnn, head = model(cell, X.shape[2], Y.shape[1], None)
    opt = torch.optim.Adam(list(rnn.parameters()) + list(head.parameters()), lr=1e-3)
    for i in range(35):
        if i == 5:
            t0 = time.perf_counter()
        opt.zero_grad()
        torch.nn.functional.mse_loss(head(rnn(X)[0][:, -1, :]), Y).backward()
        opt.step()
    print(f"{(time.perf_counter() - t0) / 30 * 1000:.2f}")


def main(cell, data, epochs, threads, seed, init):
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    load = lambda n: torch.from_numpy(np.load(f"{data}/{n}.npy"))
    X = {k: load("X_" + k) for k in ("train", "val", "test")}
    Y = {k: load("Y_" + k) for k in ("train", "val", "test")}
    meta = json.load(open(f"{data}/meta.json"))
    rnn, head = model(cell, X["train"].shape[2], Y["train"].shape[1], init)
    params = list(rnn.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    mse = torch.nn.MSELoss()

    def forward(x):
        return head(rnn(x)[0][:, -1, :])

    times, n, B = [], X["train"].shape[0], 64
    best_val, best = float("inf"), None
    for _ in range(epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        for i in range(0, n, B):
            idx = perm[i:i + B]
            opt.zero_grad()
            loss = mse(forward(X["train"][idx]), Y["train"][idx])
            loss.backward()
            opt.step()
        with torch.no_grad():
            val = mse(forward(X["val"]), Y["val"]).item()
        times.append(time.perf_counter() - t0)
        if val < best_val:   # dagrun keeps the best epoch's weights too
            best_val = val
            best = [p.detach().clone() for p in params]
    with torch.no_grad():
        for p, b in zip(params, best):
            p.copy_(b)
        p = unscale(meta, forward(X["test"]).numpy().astype(np.float64))
    y = unscale(meta, Y["test"].numpy().astype(np.float64))
    print(json.dumps({"cell": cell, "epoch_seconds": times, "val_loss": best_val,
                      "rmse": float(np.sqrt(np.mean((p - y) ** 2))),
                      "mae": float(np.mean(np.abs(p - y))),
                      "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    if sys.argv[1] == "probe":
        probe(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]),
             sys.argv[6] if len(sys.argv) > 6 else None)
