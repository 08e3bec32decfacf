#!/usr/bin/python3
"""report.py RESULTS.jsonl OUT.md: the bench/train table from the records
run.sh gathered, with the recurrent models' FLOPs counted here.

Records: {"side": "dagrun"|"torch", "cell", "threads", "seed",
"epoch_seconds": [...], "rss_kb", "rmse", "mae"}, and one {"peak":
{threads: GFLOP/s}, "n_train", "n_val", "n_train24", "features", "seq_len",
"hidden", "layers", "epochs", "cpu"}.  The speed rows are each side's runs
of the first seed; the accuracy lines every seed both sides ran."""
import json
import statistics
import sys

MODELS = ("gru", "lstm", "tcn", "encoder_lstm")
ARCH = {"gru": "2 x 128, seq 10, horizon 1", "lstm": "2 x 128, seq 10, horizon 1",
        "tcn": "channels [32, 32, 32], kernel 3, seq 24, horizon 3",
        "encoder_lstm": "2 x 64 each side, seq 24, horizon 3"}


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


def med(r):
    return statistics.median(r["epoch_seconds"])


def cpu(r):
    """CPU seconds per epoch: PyTorch's measured per epoch (median), dagrun's
    the whole run's over its epochs (start and test predictions included),
    or None."""
    if "epoch_cpu_seconds" in r:
        return statistics.median(r["epoch_cpu_seconds"])
    return r.get("run_cpu_per_epoch")


def spread(v):
    """'mean +- half the range (n)' of a list of numbers."""
    if len(v) == 1:
        return f"{v[0]:.4f} (1 seed)"
    return f"{statistics.mean(v):.4f} +- {(max(v) - min(v)) / 2:.4f} ({len(v)} seeds)"


def speed_rows(cell, env, runs, seed):
    """The table rows of one model; its ratio sentence."""
    rows = []
    mine = [r for r in runs if r["cell"] == cell and r.get("seed", seed) == seed]
    torch = next((r for r in mine if r["side"] == "torch"), None)
    t_sec = med(torch) if torch else None
    t_cpu = cpu(torch) if torch else None
    epoch_flops = None
    if cell in ("gru", "lstm"):
        f, fb = flops(3 if cell == "gru" else 4, env["layers"], env["hidden"],
                      env["features"], env["seq_len"])
        epoch_flops = env["n_train"] * fb + env["n_val"] * f
    for r in sorted(mine, key=lambda r: (r["side"], -r["threads"])):
        sec = med(r)
        ratio = f"{t_sec / sec:.2f}x faster" if t_sec and r["side"] == "dagrun" else "1"
        gf = pct = ""
        if epoch_flops:
            g = epoch_flops / sec / 1e9
            p = env["peak"].get(str(r["threads"]), max(env["peak"].values()))
            gf, pct = f"{g:.1f}", f"{100 * g / p:.0f}%"
        run = r["side"] + (f" ({r['config']})" if r.get("config") else "")
        c = cpu(r)
        c_txt = f"{c:.3f}" if c else ""
        c_ratio = (f"{t_cpu / c:.2f}x less" if t_cpu and c and r["side"] == "dagrun"
                   else "1" if c else "")
        rows.append(f"| {cell} | {run} | {r['threads']} | {sec:.3f} | {ratio} | {c_txt} | "
                    f"{c_ratio} | {gf} | {pct} | {r['rss_kb'] / 1024:.0f} | {r['rmse']:.4f} |")
    if epoch_flops:
        rows.append(f"| {cell} | (matrix products per epoch) | | | | | | "
                    f"{epoch_flops / 1e9:.1f} GFLOP | | | |")
    d = [r for r in mine if r["side"] == "dagrun"]
    if not (d and torch):
        return rows, None
    best = min(d, key=med)
    same = max(d, key=lambda r: r["threads"])
    c1 = min((cpu(r) for r in d if cpu(r)), default=None)
    return rows, (f"{cell}: {t_sec / med(same):.2f}x the speed of PyTorch at its best, "
                  f"dagrun on {same['threads']} threads (best dagrun: {t_sec / med(best):.2f}x"
                  + (f"; {t_cpu / c1:.2f}x less CPU time" if t_cpu and c1 else "")
                  + f"), {torch['rss_kb'] / same['rss_kb']:.1f}x less peak memory")


def accuracy(cell, runs, threads):
    """The test RMSE of both sides over the seeds both ran."""
    d = {r["seed"]: r["rmse"] for r in runs
         if r["side"] == "dagrun" and r["cell"] == cell and r["threads"] == threads}
    t = {r["seed"]: r["rmse"] for r in runs if r["side"] == "torch" and r["cell"] == cell}
    seeds = sorted(set(d) & set(t))
    if not seeds:
        return None
    dv, tv = [d[s] for s in seeds], [t[s] for s in seeds]
    return (f"{cell}: dagrun {spread(dv)}, PyTorch {spread(tv)}, "
            f"{100 * (statistics.mean(dv) / statistics.mean(tv) - 1):+.1f}% "
            f"(seeds {', '.join(map(str, seeds))})")


def pairs(cell, runs, threads):
    """dagrun on 'threads' threads against PyTorch, seed by seed: each pair
    ran back to back, so under the same load."""
    d = {r["seed"]: r for r in runs
         if r["side"] == "dagrun" and r["cell"] == cell and r["threads"] == threads}
    t = {r["seed"]: r for r in runs if r["side"] == "torch" and r["cell"] == cell}
    seeds = sorted(set(d) & set(t))
    if len(seeds) < 2:
        return None
    return (f"{cell}: " + ", ".join(f"seed {s} {med(t[s]) / med(d[s]):.2f}x "
                                      f"({med(d[s]):.2f} s against {med(t[s]):.2f} s)"
                                      for s in seeds))


def main(src, dst):
    recs = [json.loads(l) for l in open(src) if l.strip()]
    env = next(r for r in recs if "peak" in r)
    runs = [r for r in recs if "side" in r]
    seed = min(r.get("seed", 1) for r in runs)
    threads = max(r["threads"] for r in runs if r["side"] == "dagrun")
    lines = [
        f"Machine: {env['cpu']}; sgemm peak measured in this run (the best of "
        "OpenBLAS's default and AVX-512 kernels, 1024^3): "
        + ", ".join(f"{v:.1f} GFLOP/s on {k} thread(s)" for k, v in sorted(env["peak"].items()))
        + ".",
        f"Data: ETTh1, 7 features; {env['n_train']} training and {env['n_val']} validation "
        f"windows at seq 10, {env.get('n_train24', '?')} training windows at seq 24. "
        f"Batch 64, Adam (lr 1e-3), {env['epochs']} epochs; seconds per epoch (training and "
        "validation) are the median over epochs, of the runs of the first seed; CPU "
        "s/epoch: PyTorch's per epoch (all threads), dagrun's the whole run's (start, "
        "data, test predictions) over its epochs, so a little more than an epoch's.",
        "Models: " + "; ".join(f"{m} {ARCH[m]}" for m in MODELS
                               if any(r["cell"] == m for r in runs)) + ".",
        "",
        "| model | run | threads | s/epoch | vs PyTorch | CPU s/epoch | vs PyTorch (CPU) | GFLOP/s | of sgemm peak | peak RSS MiB | test RMSE |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    ratios, acc, paired = [], [], []
    for cell in MODELS:
        rows, ratio = speed_rows(cell, env, runs, seed)
        lines += rows
        if ratio:
            ratios.append(ratio)
        p = pairs(cell, runs, threads)
        if p:
            paired.append(p)
        a = accuracy(cell, runs, threads)
        if a:
            acc.append(a)
    lines += ["", "Ratios: " + "; ".join(ratios) + ".", ""]
    if paired:
        lines += [f"Every seed's pair (dagrun on {threads} threads, then PyTorch, back to "
                  "back), speed and median s/epoch: " + "; ".join(paired) + ".", ""]
    lines += [
              f"Test RMSE after {env['epochs']} epochs, mean +- half the range over seeds "
              "(each seed: the same initial weights on both sides, its own shuffling): "
              + "; ".join(acc) + "."]
    text = "\n".join(lines) + "\n"
    open(dst, "w").write(text)
    print(text, end="")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
