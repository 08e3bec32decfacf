#!/usr/bin/python3
"""report.py RESULTS.jsonl OUT.md: the bench/train table from the records
run.sh gathered, with the model's FLOPs counted here.

Records: {"side": "dagrun"|"torch", "cell", "threads", "epoch_seconds": [...],
"rss_kb", "rmse", "mae"}, and one {"peak": {threads: GFLOP/s}, "n_train",
"n_val", "features", "seq_len", "hidden", "layers", "epochs", "cpu"}."""
import json
import statistics
import sys


def flops(gates, layers, hidden, n_in, T):
    """Matrix-product FLOPs of one window: forward, and forward + backward.
    Per layer: input projections 2*G*H*in*T; recurrent products 2*G*H*H*(T-1)
    (h_0 = 0); backward: dW_ih and dW_hh the same again, dh through time
    2*G*H*H*(T-1), and dX for every layer but the first 2*G*H*in*T."""
    G, H = gates, hidden
    fwd = bwd = 0
    for l in range(layers):
        i = n_in if l == 0 else H
        f = 2 * G * H * i * T + 2 * G * H * H * (T - 1)
        fwd += f
        bwd += f + 2 * G * H * H * (T - 1) + (2 * G * H * i * T if l else 0)
    return fwd, fwd + bwd


def main(src, dst):
    recs = [json.loads(l) for l in open(src) if l.strip()]
    env = next(r for r in recs if "peak" in r)
    runs = [r for r in recs if "side" in r]
    peak = max(env["peak"].values())
    lines = [
        f"Machine: {env['cpu']}; OpenBLAS sgemm peak measured in this run: "
        + ", ".join(f"{v:.1f} GFLOP/s on {k} thread(s)" for k, v in sorted(env["peak"].items()))
        + ".",
        f"Model: {env['layers']} layers, hidden {env['hidden']}, seq {env['seq_len']}, "
        f"batch 64, {env['features']} features, {env['n_train']} training and "
        f"{env['n_val']} validation windows (ETTh1), Adam, {env['epochs']} epochs; "
        "seconds per epoch (training and validation) are the median over epochs.",
        "",
        "| cell | run | threads | s/epoch | vs PyTorch | GFLOP/s | of sgemm peak | peak RSS MiB | test RMSE |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for cell in ("gru", "lstm"):
        gates = 3 if cell == "gru" else 4
        f, fb = flops(gates, env["layers"], env["hidden"], env["features"], env["seq_len"])
        epoch_flops = env["n_train"] * fb + env["n_val"] * f
        torch = next((r for r in runs if r["side"] == "torch" and r["cell"] == cell), None)
        t_sec = statistics.median(torch["epoch_seconds"]) if torch else None
        for r in sorted((r for r in runs if r["cell"] == cell), key=lambda r: (r["side"], -r["threads"])):
            sec = statistics.median(r["epoch_seconds"])
            gf = epoch_flops / sec / 1e9
            ratio = f"{t_sec / sec:.2f}x faster" if t_sec and r["side"] == "dagrun" else "1"
            p = env["peak"].get(str(r["threads"]), peak)
            run = r["side"] + (f" ({r['config']})" if r.get("config") else "")
            lines.append(f"| {cell} | {run} | {r['threads']} | {sec:.3f} | {ratio} | "
                         f"{gf:.1f} | {100 * gf / p:.0f}% | {r['rss_kb'] / 1024:.0f} | "
                         f"{r['rmse']:.4f} |")
        lines.append(f"| {cell} | (matrix products per epoch) | | | | "
                     f"{epoch_flops / 1e9:.1f} GFLOP | | | |")
    ratios = []
    for cell in ("gru", "lstm"):
        d = [r for r in runs if r["side"] == "dagrun" and r["cell"] == cell]
        t = [r for r in runs if r["side"] == "torch" and r["cell"] == cell]
        if d and t:
            best = min(d, key=lambda r: statistics.median(r["epoch_seconds"]))
            same = max(d, key=lambda r: r["threads"])
            ratios.append(f"{cell}: {statistics.median(t[0]['epoch_seconds']) / statistics.median(same['epoch_seconds']):.2f}x "
                          f"the speed of PyTorch at its best, dagrun on {same['threads']} threads "
                          f"(best dagrun: {statistics.median(t[0]['epoch_seconds']) / statistics.median(best['epoch_seconds']):.2f}x), "
                          f"{t[0]['rss_kb'] / same['rss_kb']:.2f}x less peak memory, "
                          f"test RMSE {100 * (same['rmse'] / t[0]['rmse'] - 1):+.1f}% vs PyTorch")
    lines += ["", "Ratios: " + "; ".join(ratios) + "."]
    text = "\n".join(lines) + "\n"
    open(dst, "w").write(text)
    print(text, end="")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
