#!/usr/bin/python3
"""Parity of dagrun's train.encoder_lstm with PyTorch.

  seq2seq.py check NODE GOT DATA DB BATCH EPOCHS LR [OPTIMIZER WEIGHT_DECAY CLIP_NORM]
      build the encoder-decoder that GOT/init.safetensors describes in
      PyTorch (nn.LSTM encoder, nn.LSTM decoder over one value per step
      from the encoder's final (h, c), nn.Linear head per step; the first
      decoder input the window's last value of feature target_index, then
      its own prediction, through which autograd's gradient flows; no
      dropout, no teacher forcing) from dagrun's initial weights; train it
      the same way (Adam by default, batches in order, no shuffle) on DATA
      and compare the per-epoch training loss and the validation loss after
      each epoch with the ones dagrun recorded for NODE in the state
      database DB.  Passes when every loss agrees within 1e-4 relative;
      prints the figures either way.

Only the standard library, numpy and torch."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rnn_torch import read_safetensors  # noqa: E402
from tcn import compare, parse  # noqa: E402


def torch_seq2seq(torch, init, meta):
    nn = torch.nn
    layers, hidden = int(meta["num_layers"]), int(meta["hidden_size"])
    n_in, horizon = int(meta["input_size"]), int(meta["output_size"])
    target = int(meta["target_index"])

    class Seq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.LSTM(n_in, hidden, num_layers=layers, batch_first=True)
            self.decoder = nn.LSTM(1, hidden, num_layers=layers, batch_first=True)
            self.head = nn.Linear(hidden, 1)

        def forward(self, x):
            _, state = self.encoder(x)
            if target >= 0:
                v = x[:, -1, target:target + 1]
            else:
                v = torch.zeros(x.shape[0], 1)
            out = []
            for _ in range(horizon):
                o, state = self.decoder(v.unsqueeze(1), state)
                v = self.head(o[:, -1])
                out.append(v)
            return torch.cat(out, dim=1)

    model = Seq2Seq()
    names = dict(model.named_parameters())
    assert sorted(names) == sorted(init), (sorted(names), sorted(init))
    with torch.no_grad():
        for name, p in names.items():
            p.copy_(torch.from_numpy(init[name]))
    return model


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
    title = (f"encoder_lstm, {meta['num_layers']} layers of {meta['hidden_size']}, "
             f"{meta['output_size']} decoder steps from feature {meta['target_index']}")
    ok = compare(torch, node, title, torch_seq2seq(torch, init, meta), got, data,
                 db, batch, epochs, lr, optim)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
