#!/usr/bin/python3
"""Parity of dagrun's train.mlp / train.softmax with PyTorch.

  mlp.py gen DIR
      write DIR/table.csv, a small table for data.load: a time column t,
      four features a..d, a string class 'kind' (three classes), an integer
      class 'level' (two classes) and a number 'y' for regression
  mlp.py check NODE GOT CSV DB EPOCHS BATCH LR [OPTIMIZER WEIGHT_DECAY]
      rebuild NODE's network in PyTorch from dagrun's initial weights
      (GOT/init.safetensors) and the metadata stored with them (features,
      label, classes, scaler, part sizes, hidden widths, activation, l2),
      train it the same way (batches in order, no shuffle, no dropout) and
      compare every epoch's training and validation loss with the ones
      dagrun recorded for NODE in the state database DB.  Passes when
      every loss agrees within 1e-4 relative; prints the figures either
      way, and the largest weight difference at dagrun's best epoch.

Only the standard library, numpy and torch; safetensors files and the
state's metrics are read by rnn_torch.py's helpers (the same folder)."""
import csv
import json
import math
import sys

import numpy as np

from rnn_torch import dagrun_losses, read_safetensors

TOL = 1e-4


def gen(folder):
    """400 hourly rows: features with structure, classes that follow them."""
    rng = np.random.default_rng(11)
    rows = 400
    kinds = ["cat", "dog", "emu"]
    with open(f"{folder}/table.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["t", "a", "b", "c", "d", "kind", "level", "y"])
        for i in range(rows):
            a, b = rng.normal(0, 2), rng.normal(5, 3)
            c, d = math.sin(i / 5) * 10, rng.uniform(-1, 1)
            score = [a + d, b / 3 - 1, c / 5]
            kind = kinds[int(np.argmax(np.array(score) + rng.normal(0, 0.5, 3)))]
            level = 1 if a * c + rng.normal(0, 2) > 0 else -1
            y = 3 * a - b + 0.5 * c * d + rng.normal(0, 0.3) + 100
            w.writerow([1700000000 + 3600 * i, f"{a:.6f}", f"{b:.6f}", f"{c:.6f}",
                        f"{d:.6f}", kind, level, f"{y:.6f}"])


def load_data(path, meta):
    """X (scaled, float32) and the targets, in dagrun's row order and parts."""
    feats = json.loads(meta["features"])
    scaler = json.loads(meta["scaler"])["params"]
    label = meta["label"]
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    X = np.array([[(float(r[k]) - scaler[k]["mean"]) / scaler[k]["std"] for k in feats]
                  for r in rows]).astype(np.float32)
    if meta["objective"] == "classify":
        classes = [str(c) for c in json.loads(meta["classes"])]
        Y = np.array([classes.index(r[label]) for r in rows], dtype=np.int64)
    else:
        ts = json.loads(meta["target_scaler"])["params"][label]
        Y = np.array([[(float(r[label]) - ts["mean"]) / ts["std"]] for r in rows])
        Y = Y.astype(np.float32)
    parts = json.loads(meta["rows"])
    a, b = parts["train"], parts["train"] + parts["val"]
    return (X[:a], Y[:a]), (X[a:b], Y[a:b])


class Net:
    """nn.ModuleList 'layers' of nn.Linear with the activation between."""

    def __init__(self, torch, init, meta):
        hidden = json.loads(meta["hidden"])
        sizes = [int(meta["input_size"])] + hidden + [int(meta["output_size"])]
        self.torch = torch
        self.layers = torch.nn.ModuleList(
            torch.nn.Linear(sizes[k], sizes[k + 1]) for k in range(len(sizes) - 1))
        self.act = torch.relu if meta["activation"] == "relu" else torch.tanh
        with torch.no_grad():
            for name, p in self.layers.named_parameters():
                p.copy_(torch.from_numpy(init["layers." + name]))

    def __call__(self, x):
        for layer in self.layers[:-1]:
            x = self.act(layer(x))
        return self.layers[-1](x)


def train_torch(torch, net, meta, data, epochs, batch, lr, optim):
    """Per-epoch training loss (penalty included) and validation loss, and
    the weights after each epoch."""
    (Xt, Yt), (Xv, Yv) = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in data]
    classify = meta["objective"] == "classify"
    l2 = float(meta.get("l2", 0))
    name, wd = optim
    cls = torch.optim.SGD if name == "sgd" else torch.optim.Adam
    opt = cls(net.layers.parameters(), lr=lr, weight_decay=wd)

    def data_loss(out, y):
        if classify:
            return torch.nn.functional.cross_entropy(out, y)
        return torch.nn.functional.mse_loss(out, y)

    def penalty():
        return 0.5 * l2 * sum((layer.weight ** 2).sum() for layer in net.layers)

    train, val, weights = [], [], []
    n = Xt.shape[0]
    for _ in range(epochs):
        total = 0.0
        for i in range(0, n, batch):
            x, y = Xt[i:i + batch], Yt[i:i + batch]
            opt.zero_grad()
            loss = data_loss(net(x), y)
            if l2 > 0:
                loss = loss + penalty()
            loss.backward()
            opt.step()
            total += loss.item() * x.shape[0]
        train.append(total / n)
        with torch.no_grad():
            val.append(data_loss(net(Xv), Yv).item())
        weights.append({"layers." + k: v.detach().numpy().copy()
                        for k, v in net.layers.named_parameters()})
    return train, val, weights


def check(node, got, path, db, epochs, batch, lr, optim):
    import torch
    torch.manual_seed(0)
    torch.set_num_threads(1)
    init, meta = read_safetensors(f"{got}/init.safetensors")
    data = load_data(path, meta)
    net = Net(torch, init, meta)
    t_train, t_val, t_weights = train_torch(torch, net, meta, data, epochs, batch, lr, optim)
    d_train = dagrun_losses(db, node, "train_loss")
    d_val = dagrun_losses(db, node, "val_loss")
    steps = epochs * -(-data[0][0].shape[0] // batch)
    if len(d_train) != epochs or len(d_val) != epochs:
        print(f"{node}: dagrun recorded {len(d_train)} training and {len(d_val)} "
              f"validation losses (expected {epochs} of each)")
        return False
    worst = 0.0
    print(f"{node}: {meta['kind']} {meta['objective']}, hidden {meta['hidden']} "
          f"{meta['activation']}, l2 {meta.get('l2', 0)}, {steps} steps of {optim[0]} "
          f"(lr {lr}, batch {batch}, weight_decay {optim[1]})")
    print("epoch  train dagrun      train torch       val dagrun        val torch")
    for e in range(epochs):
        print(f"{e + 1:5d}  {d_train[e]:.10f}  {t_train[e]:.10f}  {d_val[e]:.10f}  {t_val[e]:.10f}")
        for a, b in ((d_train[e], t_train[e]), (d_val[e], t_val[e])):
            worst = max(worst, abs(a - b) / abs(b))
    with open(f"{got}/metrics.json") as f:
        best = json.load(f)["best_epoch"]
    model, _ = read_safetensors(f"{got}/model.safetensors")
    sd = t_weights[best - 1]
    wdiff = max(float(np.abs(model[k] - sd[k]).max()) for k in sd)
    print(f"{node}: loss after {steps} steps: dagrun {d_train[-1]:.10f}, torch "
          f"{t_train[-1]:.10f}; worst relative loss difference {worst:.3g} (limit "
          f"{TOL:g}); largest weight difference at the best epoch ({best}) {wdiff:.3g}")
    return worst <= TOL


def main(argv):
    if len(argv) == 3 and argv[1] == "gen":
        gen(argv[2])
        return 0
    if len(argv) in (9, 11) and argv[1] == "check":
        optim = (argv[9], float(argv[10])) if len(argv) == 11 else ("adam", 0.0)
        ok = check(argv[2], argv[3], argv[4], argv[5], int(argv[6]), int(argv[7]),
                   float(argv[8]), optim)
        return 0 if ok else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
