#!/usr/bin/python3
"""Parity of dagrun's train.gru / train.lstm with PyTorch.

  rnn_torch.py gen DIR
      write a small data.preprocess-shaped input to DIR: X_/Y_ {train,val,
      test}.npy (float32 [n, 8, 3] and [n, 2]), T_*.npy, meta.json
  rnn_torch.py gen-residual DIR
      the same with the target 'y' among the features (X [n, 8, 4], 'y'
      last), X min-max scaled and Y standardised, so that a residual model's
      skip must convert units: y_scaled = a * x_scaled + b, a != 1, b != 0
  rnn_torch.py check CELL NODE GOT DATA DB LAYERS HIDDEN BATCH EPOCHS LR \
                     [OPTIMIZER WEIGHT_DECAY CLIP_NORM]
      build the same model in PyTorch from dagrun's initial weights
      (GOT/init.safetensors), train it the same way (Adam by default,
      batches in order, no shuffle, no dropout), and compare the per-epoch training loss and
      the validation loss after each epoch with the ones dagrun recorded for
      NODE in the state database DB.  Passes when every loss agrees within
      1e-4 relative; prints the figures either way.  A model with the
      residual skip (metadata residual_index, _scale, _shift) is checked
      with it: the torch model adds a * x[:, -1, index] + b to the head's
      output, with a and b computed here from meta.json's scalers, and they
      must equal the file's to float precision.

Only the standard library, numpy and torch; safetensors files are read by
a dozen lines below, so python3-safetensors is not needed."""
import json
import sqlite3
import struct
import sys

import numpy as np

TOL = 1e-4


def read_safetensors(path):
    """The tensors (name -> float32 array) and metadata of a file."""
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = buf[8 + n:]
    out = {}
    for name, t in header.items():
        assert t["dtype"] == "F32", name
        b, e = t["data_offsets"]
        out[name] = np.frombuffer(data[b:e], dtype="<f4").reshape(t["shape"]).copy()
    return out, meta


def gen(folder):
    """Windows of a noisy sum of sines: 3 features, 8 steps, 2 targets."""
    rng = np.random.default_rng(7)
    rows = 420
    t = np.arange(rows, dtype=np.float64)
    cols = np.stack([np.sin(t / 7), np.cos(t / 11), np.sin(t / 3) * 0.5], axis=1)
    cols += rng.normal(0, 0.05, cols.shape)
    target = cols.sum(axis=1)
    T, out = 8, 2
    n = rows - T - out + 1
    X = np.stack([cols[i:i + T] for i in range(n)]).astype(np.float32)
    Y = np.stack([target[i + T:i + T + out] for i in range(n)]).astype(np.float32)
    mean, std = float(Y.mean()), float(Y.std())
    Y = ((Y - mean) / std).astype(np.float32)
    parts = {"train": slice(0, 256), "val": slice(256, 336), "test": slice(336, n)}
    for name, s in parts.items():
        np.save(f"{folder}/X_{name}.npy", X[s])
        np.save(f"{folder}/Y_{name}.npy", Y[s])
        np.save(f"{folder}/T_{name}.npy", np.arange(n, dtype=np.int64)[s])
    meta = {"features": ["a", "b", "c"], "target": "y", "input_seq_len": T,
            "output_seq_len": out,
            "target_scaler": {"kind": "standard", "params": {"y": {"mean": mean, "std": std}}}}
    with open(f"{folder}/meta.json", "w") as f:
        json.dump(meta, f)


def gen_residual(folder):
    """Windows of a noisy sum of sines whose target is also the last
    feature: X scaled by min-max per column, Y standardised."""
    rng = np.random.default_rng(11)
    rows = 420
    t = np.arange(rows, dtype=np.float64)
    cols = np.stack([np.sin(t / 7), np.cos(t / 11), np.sin(t / 3) * 0.5], axis=1)
    cols += rng.normal(0, 0.05, cols.shape)
    target = cols.sum(axis=1) + np.cumsum(rng.normal(0, 0.1, rows)) + 3
    raw = np.concatenate([cols, target[:, None]], axis=1)
    lo, hi = raw[:294].min(axis=0), raw[:294].max(axis=0)
    mean, std = float(target[:294].mean()), float(target[:294].std())
    xs = (raw - lo) / (hi - lo)
    ys = (target - mean) / std
    T, out = 8, 2
    n = rows - T - out + 1
    X = np.stack([xs[i:i + T] for i in range(n)]).astype(np.float32)
    Y = np.stack([ys[i + T:i + T + out] for i in range(n)]).astype(np.float32)
    parts = {"train": slice(0, 256), "val": slice(256, 336), "test": slice(336, n)}
    for name, s in parts.items():
        np.save(f"{folder}/X_{name}.npy", X[s])
        np.save(f"{folder}/Y_{name}.npy", Y[s])
        np.save(f"{folder}/T_{name}.npy", np.arange(n, dtype=np.int64)[s])
    names = ["a", "b", "c", "y"]
    meta = {"features": names, "target": "y", "target_index": 3, "input_seq_len": T,
            "output_seq_len": out,
            "scaler": {"kind": "minmax", "params": {
                k: {"min": float(lo[j]), "max": float(hi[j])} for j, k in enumerate(names)}},
            "target_scaler": {"kind": "standard", "params": {"y": {"mean": mean, "std": std}}}}
    with open(f"{folder}/meta.json", "w") as f:
        json.dump(meta, f)


def residual_of(data, meta):
    """The skip (index, a, b) a residual model of DATA must have, from
    meta.json's scalers, checked against the file's metadata 'meta'; None
    for a model without one."""
    if "residual_index" not in meta:
        return None
    with open(f"{data}/meta.json") as f:
        pre = json.load(f)
    i = pre["target_index"]
    xs = pre["scaler"]["params"][pre["features"][i]]
    ys = pre["target_scaler"]["params"][pre["target"]]
    a = (xs["max"] - xs["min"]) / ys["std"]
    b = (xs["min"] - ys["mean"]) / ys["std"]
    got = (int(meta["residual_index"]), float(meta["residual_scale"]),
           float(meta["residual_shift"]))
    assert got[0] == i and abs(got[1] - a) <= 1e-6 * abs(a) and \
        abs(got[2] - b) <= 1e-6 * max(1, abs(b)), (got, (i, a, b))
    print(f"residual skip: + {got[1]:.9g} * x[:, -1, {i}] + {got[2]:.9g} "
          f"(from meta.json: {a:.9g}, {b:.9g})")
    return got


def torch_model(torch, cell, init, layers, hidden, n_in, n_out):
    cls = torch.nn.GRU if cell == "gru" else torch.nn.LSTM
    rnn = cls(n_in, hidden, num_layers=layers, batch_first=True)
    head = torch.nn.Linear(hidden, n_out)
    with torch.no_grad():
        for name, p in rnn.named_parameters():
            p.copy_(torch.from_numpy(init["rnn." + name]))
        head.weight.copy_(torch.from_numpy(init["head.weight"]))
        head.bias.copy_(torch.from_numpy(init["head.bias"]))
    return rnn, head


def train_torch(torch, rnn, head, data, batch, epochs, lr, optim, residual):
    """Per-epoch mean training loss and validation loss, as dagrun's.
    'optim' is (name, weight_decay, clip_norm); 'residual' (index, a, b)
    or None."""
    X = {k: torch.from_numpy(np.load(f"{data}/X_{k}.npy")) for k in ("train", "val")}
    Y = {k: torch.from_numpy(np.load(f"{data}/Y_{k}.npy")) for k in ("train", "val")}
    params = list(rnn.parameters()) + list(head.parameters())
    name, wd, clip = optim
    cls = torch.optim.SGD if name == "sgd" else torch.optim.Adam
    opt = cls(params, lr=lr, weight_decay=wd)
    mse = torch.nn.MSELoss()

    def forward(x):
        y = head(rnn(x)[0][:, -1, :])
        if residual is not None:
            i, a, b = residual
            y = y + (torch.tensor(a, dtype=torch.float32) * x[:, -1, i:i + 1] +
                     torch.tensor(b, dtype=torch.float32))
        return y

    train, val = [], []
    n = X["train"].shape[0]
    for _ in range(epochs):
        total = 0.0
        for i in range(0, n, batch):
            x, y = X["train"][i:i + batch], Y["train"][i:i + batch]
            opt.zero_grad()
            loss = mse(forward(x), y)
            loss.backward()
            if clip > 0:
                torch.nn.utils.clip_grad_norm_(params, clip)
            opt.step()
            total += loss.item() * x.shape[0]
        train.append(total / n)
        with torch.no_grad():
            val.append(mse(forward(X["val"]), Y["val"]).item())
    return train, val


def dagrun_losses(db, node, name):
    con = sqlite3.connect(db)
    rows = con.execute("select step, value from metrics where node = ? and name = ? "
                       "order by step", (node, name)).fetchall()
    con.close()
    return [v for _, v in rows]


def check(cell, node, got, data, db, layers, hidden, batch, epochs, lr, optim):
    import torch
    torch.manual_seed(0)
    torch.set_num_threads(1)
    init, meta = read_safetensors(f"{got}/init.safetensors")
    n_in, n_out = int(meta["input_size"]), int(meta["output_size"])
    residual = residual_of(data, meta)
    rnn, head = torch_model(torch, cell, init, layers, hidden, n_in, n_out)
    t_train, t_val = train_torch(torch, rnn, head, data, batch, epochs, lr, optim,
                                 residual)
    d_train = dagrun_losses(db, node, "train_loss")
    d_val = dagrun_losses(db, node, "val_loss")
    steps = epochs * -(-np.load(f"{data}/X_train.npy").shape[0] // batch)
    worst = 0.0
    print(f"{node}: {cell}, {layers} layers of {hidden}, {steps} steps of {optim[0]} "
          f"(lr {lr}, batch {batch}, weight_decay {optim[1]}, clip_norm {optim[2]})")
    print("epoch  train dagrun      train torch       val dagrun        val torch")
    for e in range(epochs):
        print(f"{e + 1:5d}  {d_train[e]:.10f}  {t_train[e]:.10f}  {d_val[e]:.10f}  {t_val[e]:.10f}")
        for a, b in ((d_train[e], t_train[e]), (d_val[e], t_val[e])):
            worst = max(worst, abs(a - b) / abs(b))
    model, _ = read_safetensors(f"{got}/model.safetensors")
    sd = {"rnn." + k: v.detach().numpy() for k, v in rnn.named_parameters()}
    sd.update({"head." + k: v.detach().numpy() for k, v in head.named_parameters()})
    wdiff = max(float(np.abs(model[k] - sd[k]).max()) for k in sd)
    print(f"{node}: loss after {steps} steps: dagrun {d_val[-1]:.10f}, torch {t_val[-1]:.10f}; "
          f"worst relative loss difference {worst:.3g} (limit {TOL:g}); "
          f"largest weight difference {wdiff:.3g}")
    return worst <= TOL and len(d_train) == epochs


def main(argv):
    if len(argv) == 3 and argv[1] == "gen":
        gen(argv[2])
        return 0
    if len(argv) == 3 and argv[1] == "gen-residual":
        gen_residual(argv[2])
        return 0
    if len(argv) in (12, 15) and argv[1] == "check":
        optim = (argv[12], float(argv[13]), float(argv[14])) if len(argv) == 15 \
            else ("adam", 0.0, 0.0)
        ok = check(argv[2], argv[3], argv[4], argv[5], argv[6], int(argv[7]),
                   int(argv[8]), int(argv[9]), int(argv[10]), float(argv[11]), optim)
        return 0 if ok else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
