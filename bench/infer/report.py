#!/usr/bin/python3
"""report.py RESULTS.jsonl OUT.md: the bench/infer table from the records
run.sh gathered, with the forward pass's FLOPs counted here.

Records: {"side": "dagrun", "cell", "layers", "hidden", "features",
"seq_len", "outputs", "windows", "threads", "batch_s", "batch_cpu_s",
"single_s", "predict_s", "fma_peak"}; {"side": "torch", "threads",
"config", "batch_s", "batch_cpu_s", "single_s", "max_abs_diff"};
{"side": "sgemm_peak", "threads", "gflops"}; {"side": "machine", "cpu",
"node_log"}.

The compute bound is the forward pass's FLOPs over the FMA peak of the
cores used: in wall time (threads x one core's peak), and in CPU time
(core-seconds against one core's peak), the figure that holds when other
work shares the cores."""
import json
import sys


def flops(gates, layers, hidden, n_in, T, out):
    """Matrix-product FLOPs of one window's forward pass.  Per layer: input
    projections 2 G H in T, recurrent products 2 G H H (T - 1): h_0 = 0, so
    step 0 has none (PyTorch multiplies it anyway: + 2 G H H per layer);
    then the head, 2 H out.  The cells' elementwise work is not counted."""
    G, H, f = gates, hidden, 2 * hidden * out
    for l in range(layers):
        f += 2 * G * H * (n_in if l == 0 else H) * T + 2 * G * H * H * (T - 1)
    return f, f + layers * 2 * G * H * H


def main(src, dst):
    recs = [json.loads(l) for l in open(src) if l.strip()]
    dag = [r for r in recs if r["side"] == "dagrun"]
    torch = [r for r in recs if r["side"] == "torch"]
    sgemm = {r["threads"]: r["gflops"] for r in recs if r["side"] == "sgemm_peak"}
    machine = next(r for r in recs if r["side"] == "machine")
    d0 = dag[0]
    gates = 4 if d0["cell"] == "lstm" else 3
    per, per_torch = flops(gates, d0["layers"], d0["hidden"], d0["features"], d0["seq_len"],
                           d0["outputs"])
    total = per * d0["windows"]
    tb = min(torch, key=lambda r: r["batch_s"])
    ts = min(torch, key=lambda r: r["single_s"])
    lines = [
        f"Machine: {machine['cpu']}.",
        f"Model: {d0['cell'].upper()}, {d0['layers']} layers, hidden {d0['hidden']}, "
        f"{d0['features']} features, input_seq_len {d0['seq_len']}; {d0['windows']} windows "
        f"(4,000 rows of ETTh1: every window and the forecast past the last row). "
        f"Forward pass: {total / 1e9:.2f} GFLOP of matrix products ({per_torch * d0['windows'] / 1e9:.2f} "
        f"with the step-0 recurrent products PyTorch also computes). Best of the runs.",
        "",
        "| run | threads | batch of all, s (CPU s) | GFLOP/s | x compute bound, wall (CPU) "
        "| x OpenBLAS-sgemm bound | vs PyTorch batch | one window per call, s "
        "| vs PyTorch per window | forecaster_predict, s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    bound = total / d0["fma_peak"] / 1e9          # core-seconds at the FMA peak
    for r in dag:
        gf = total / r["batch_s"] / 1e9
        sg = sgemm.get(r["threads"], 0)
        lines.append(
            f"| dagrun | {r['threads']} | {r['batch_s']:.4f} ({r['batch_cpu_s']:.4f}) | {gf:.1f} | "
            f"{r['batch_s'] / (bound / r['threads']):.2f} ({r['batch_cpu_s'] / bound:.2f}) | "
            f"{r['batch_s'] / (total / sg / 1e9) if sg else float('nan'):.2f} | "
            f"{tb['batch_s'] / r['batch_s']:.2f}x faster | {r['single_s']:.3f} | "
            f"{ts['single_s'] / r['single_s']:.2f}x faster | {r['predict_s']:.4f} |")
    for r in torch:
        lines.append(
            f"| PyTorch ({r['config']}) | {r['threads']} | {r['batch_s']:.4f} ({r['batch_cpu_s']:.4f}) | "
            f"{total / r['batch_s'] / 1e9:.1f} | {r['batch_s'] / (bound / r['threads']):.2f} "
            f"({r['batch_cpu_s'] / bound:.2f}) | | 1 | {r['single_s']:.3f} | 1 | |")
    best = min(dag, key=lambda r: r["batch_s"])
    one = next((r for r in dag if r["threads"] == 1), best)
    t1 = min((r for r in torch if r["threads"] == 1), key=lambda r: r["batch_cpu_s"], default=tb)
    lines += [
        "",
        f"Peaks measured in this run: FMA {d0['fma_peak']:.1f} GFLOP/s per core (infer_bench, CPU time); "
        "OpenBLAS sgemm (1024^3) " + ", ".join(f"{v:.1f} GFLOP/s on {k} thread(s)"
                                              for k, v in sorted(sgemm.items())) + ".",
        f"Ratios: dagrun's forward pass of all windows takes {best['batch_s']:.4f} s on "
        f"{best['threads']} thread(s): {best['batch_s'] / (total / (best['fma_peak'] * best['threads']) / 1e9):.2f}x "
        f"the compute bound, {tb['batch_s'] / best['batch_s']:.2f}x faster than PyTorch's batch forward "
        f"at its best ({tb['batch_s']:.4f} s, set_num_threads({tb['threads']})), "
        f"{ts['single_s'] / best['batch_s']:.1f}x faster than PyTorch window by window "
        f"({ts['single_s']:.3f} s). On one thread, in CPU time: dagrun {one['batch_cpu_s']:.4f} s, "
        f"{one['batch_cpu_s'] / bound:.2f}x the compute bound ({bound:.4f} s), "
        f"{t1['batch_cpu_s'] / one['batch_cpu_s']:.2f}x faster than PyTorch on one thread "
        f"({t1['batch_cpu_s']:.4f} s). PyTorch and dagrun outputs differ by at most "
        f"{max(r['max_abs_diff'] for r in torch):.2g} (scaled units).",
        f"The infer.batch node's log: {machine['node_log']}",
    ]
    text = "\n".join(lines) + "\n"
    open(dst, "w").write(text)
    print(text, end="")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
