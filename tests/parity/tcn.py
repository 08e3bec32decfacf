#!/usr/bin/python3
"""Parity of dagrun's train.tcn with PyTorch.

  tcn.py check NODE GOT DATA DB BATCH EPOCHS LR [OPTIMIZER WEIGHT_DECAY CLIP_NORM]
      build the TCN that GOT/init.safetensors describes (channels and
      kernel_size from its metadata) in PyTorch, with the common TCN code's
      layers (nn.Conv1d with padding (k-1)d and the right (k-1)d outputs
      dropped, ReLU, a 1x1 nn.Conv1d on the residual when the channels
      change, dilation 2^i, nn.Linear on the last step; no dropout) and
      dagrun's initial weights; train it the same way (Adam by default,
      batches in order, no shuffle) on DATA (rnn_torch.py gen writes one),
      and compare the per-epoch training loss and the validation loss
      after each epoch with the ones dagrun recorded for NODE in the state
      database DB.  Passes when every loss agrees within 1e-4 relative;
      prints the figures either way.

Only the standard library, numpy and torch."""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rnn_torch import TOL, dagrun_losses, read_safetensors  # noqa: E402


def torch_tcn(torch, init, meta):
    """The network of 'meta' with the weights 'init'."""
    nn = torch.nn
    channels = json.loads(meta["channels"])
    k = int(meta["kernel_size"])
    n_in, n_out = int(meta["input_size"]), int(meta["output_size"])

    class Block(nn.Module):
        def __init__(self, cin, cout, d):
            super().__init__()
            self.pad = (k - 1) * d
            self.conv1 = nn.Conv1d(cin, cout, k, dilation=d, padding=self.pad)
            self.conv2 = nn.Conv1d(cout, cout, k, dilation=d, padding=self.pad)
            self.downsample = nn.Conv1d(cin, cout, 1) if cin != cout else None

        def chomp(self, x):
            return x[:, :, :-self.pad] if self.pad else x

        def forward(self, x):
            a = torch.relu(self.chomp(self.conv1(x)))
            b = torch.relu(self.chomp(self.conv2(a)))
            res = x if self.downsample is None else self.downsample(x)
            return torch.relu(b + res)

    class TCN(nn.Module):
        def __init__(self):
            super().__init__()
            ins = [n_in] + channels[:-1]
            self.blocks = nn.ModuleList(Block(ins[i], c, 2 ** i)
                                        for i, c in enumerate(channels))
            self.head = nn.Linear(channels[-1], n_out)

        def forward(self, x):
            h = x.transpose(1, 2)
            for b in self.blocks:
                h = b(h)
            return self.head(h[:, :, -1])

    model = TCN()
    names = dict(model.named_parameters())
    assert sorted(names) == sorted(init), (sorted(names), sorted(init))
    with torch.no_grad():
        for name, p in names.items():
            p.copy_(torch.from_numpy(init[name]))
    return model


def train_torch(torch, model, data, batch, epochs, lr, optim):
    """Per-epoch mean training loss and validation loss, as dagrun's."""
    X = {k: torch.from_numpy(np.load(f"{data}/X_{k}.npy")) for k in ("train", "val")}
    Y = {k: torch.from_numpy(np.load(f"{data}/Y_{k}.npy")) for k in ("train", "val")}
    params = list(model.parameters())
    name, wd, clip = optim
    cls = torch.optim.SGD if name == "sgd" else torch.optim.Adam
    opt = cls(params, lr=lr, weight_decay=wd)
    mse = torch.nn.MSELoss()
    train, val = [], []
    n = X["train"].shape[0]
    for _ in range(epochs):
        total = 0.0
        for i in range(0, n, batch):
            x, y = X["train"][i:i + batch], Y["train"][i:i + batch]
            opt.zero_grad()
            loss = mse(model(x), y)
            loss.backward()
            if clip > 0:
                torch.nn.utils.clip_grad_norm_(params, clip)
            opt.step()
            total += loss.item() * x.shape[0]
        train.append(total / n)
        with torch.no_grad():
            val.append(mse(model(X["val"]), Y["val"]).item())
    return train, val


def compare(torch, node, title, model, got, data, db, batch, epochs, lr, optim):
    """Train 'model' (built from GOT/init.safetensors) as dagrun trained NODE
    and print both sides' losses; True when every one agrees within TOL."""
    t_train, t_val = train_torch(torch, model, data, batch, epochs, lr, optim)
    d_train = dagrun_losses(db, node, "train_loss")
    d_val = dagrun_losses(db, node, "val_loss")
    steps = epochs * -(-np.load(f"{data}/X_train.npy").shape[0] // batch)
    worst = 0.0
    print(f"{node}: {title}, {steps} steps of {optim[0]} (lr {lr}, batch {batch}, "
          f"weight_decay {optim[1]}, clip_norm {optim[2]})")
    print("epoch  train dagrun      train torch       val dagrun        val torch")
    for e in range(epochs):
        print(f"{e + 1:5d}  {d_train[e]:.10f}  {t_train[e]:.10f}  {d_val[e]:.10f}  {t_val[e]:.10f}")
        for a, b in ((d_train[e], t_train[e]), (d_val[e], t_val[e])):
            worst = max(worst, abs(a - b) / abs(b))
    trained, _ = read_safetensors(f"{got}/model.safetensors")
    sd = {k: v.detach().numpy() for k, v in model.named_parameters()}
    wdiff = max(float(np.abs(trained[k] - sd[k]).max()) for k in sd)
    print(f"{node}: loss after {steps} steps: dagrun {d_val[-1]:.10f}, torch {t_val[-1]:.10f}; "
          f"worst relative loss difference {worst:.3g} (limit {TOL:g}); "
          f"largest weight difference {wdiff:.3g}")
    return worst <= TOL and len(d_train) == epochs


def parse(argv):
    """check NODE GOT DATA DB BATCH EPOCHS LR [OPTIMIZER WEIGHT_DECAY CLIP_NORM]
    as (node, got, data, db, batch, epochs, lr, optim), or None."""
    if len(argv) not in (9, 12) or argv[1] != "check":
        return None
    optim = (argv[9], float(argv[10]), float(argv[11])) if len(argv) == 12 \
        else ("adam", 0.0, 0.0)
    return (argv[2], argv[3], argv[4], argv[5], int(argv[6]), int(argv[7]),
            float(argv[8]), optim)


def main(argv):
    args = parse(argv)
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    import torch
    torch.manual_seed(0)
    torch.set_num_threads(1)
    node, got, data, db, batch, epochs, lr, optim = args
    init, meta = read_safetensors(f"{got}/init.safetensors")
    title = f"tcn, channels {meta['channels']}, kernel {meta['kernel_size']}"
    ok = compare(torch, node, title, torch_tcn(torch, init, meta), got, data, db,
                 batch, epochs, lr, optim)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
