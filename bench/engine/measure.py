#!/usr/bin/python3
"""Time dagrun against ninja, make and snakemake on the DAGs gen.py wrote.

usage: measure.py OUT DAGRUN_BIN N [N...]

OUT is the folder gen.py wrote into (bench/out/engine).  Prints the results
table and writes OUT/results.md and OUT/results.json.

Every case is measured side by side in one run, the tools interleaved
repetition by repetition (dagrun, ninja, make, snakemake, dagrun, ...) so a
change in the machine's load hits every tool alike.  A time is the wall time
of the tool's process, prepare steps excluded.  The table shows the best of
the repetitions; a second table gives their medians.

Knobs (environment):
  BENCH_REPS=3        repetitions of the cold and changed cases (dagrun, ninja, make)
  BENCH_NOOP_REPS=10  repetitions of the no-op case (dagrun, ninja, make)
  BENCH_SLOW_REPS=1   repetitions of snakemake's cold and changed cases
  BENCH_SLOW_NOOP_REPS=3  repetitions of snakemake's no-op case
  BENCH_PLAN_REPS=5   repetitions of `dagrun -n`
  BENCH_BIG=10000     from this N on, the cold case runs once, and only for the
                      tools in BENCH_BIG_COLD; the other tools start from a
                      copy of ninja's outputs (see seed_from_ninja)
  BENCH_BIG_COLD="dagrun ninja"
  BENCH_SERIAL=1      time the commands alone (serial.sh) below BENCH_BIG
"""
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

TOOLS = ["dagrun", "ninja", "make", "snakemake"]
PEERS = ["ninja", "make", "snakemake"]
JOBS = 2
CHANGED_INPUT = "src/in_0.txt"


def env_int(name, default):
    return int(os.environ.get(name, default))


REPS = env_int("BENCH_REPS", 3)
NOOP_REPS = env_int("BENCH_NOOP_REPS", 10)
SLOW_REPS = env_int("BENCH_SLOW_REPS", 1)
SLOW_NOOP_REPS = env_int("BENCH_SLOW_NOOP_REPS", 3)
PLAN_REPS = env_int("BENCH_PLAN_REPS", 5)
BIG = env_int("BENCH_BIG", 10000)
BIG_COLD = os.environ.get("BENCH_BIG_COLD", "dagrun ninja").split()
SERIAL = env_int("BENCH_SERIAL", 1)

# One locale for every tool: `sort` behaves and costs the same everywhere.
os.environ["LC_ALL"] = "C"


class Bench:
    def __init__(self, out, dagrun):
        self.out = out
        self.dagrun = dagrun
        self.logs = os.path.join(out, "logs")
        os.makedirs(self.logs, exist_ok=True)
        self.times = {}      # (n, case, tool) -> [seconds]
        self.ran = {}        # (n, case, tool) -> nodes that ran, last repetition
        self.failed = []     # (n, case, tool, rep, rc)
        self.notes = []

    # -- per tool -----------------------------------------------------------
    def proj(self, n, tool):
        return os.path.join(self.out, str(n), tool)

    def command(self, tool, dry=False):
        if tool == "dagrun":
            return [self.dagrun] + (["-n"] if dry else []) + \
                   ["-j%d" % JOBS, "--state", "state", "pipeline.yaml"]
        if tool == "ninja":
            return ["ninja", "-j%d" % JOBS]
        if tool == "make":
            return ["make", "-j%d" % JOBS, "-s"]
        if tool == "snakemake":
            return ["snakemake", "-j%d" % JOBS, "--quiet"]
        if tool == "serial":
            return ["./serial.sh"]
        raise ValueError(tool)

    def clean(self, n, tool, rep=0):
        p = self.proj(n, tool)
        gone = {"dagrun": ["state"], "ninja": ["o", ".ninja_log", ".ninja_deps"],
                "make": ["o"], "snakemake": ["o", ".snakemake"], "serial": ["o"]}[tool]
        for g in gone:
            g = os.path.join(p, g)
            if os.path.isdir(g):
                shutil.rmtree(g)
            elif os.path.exists(g):
                os.unlink(g)
        if tool == "make":
            os.makedirs(os.path.join(p, "o"))

    def change(self, n, tool, rep):
        # The same new text for every tool in one round, so their outputs
        # stay byte-identical to each other.
        with open(os.path.join(self.proj(n, tool), CHANGED_INPUT), "w") as f:
            f.write("input 0 rev %d\n" % (rep + 1))

    def count_ran(self, n, tool, log, t0):
        """How many nodes the run just timed actually ran."""
        if tool == "dagrun":
            # summary line: "run 3 ok: 1000 nodes, 0 ran, 1000 cached, ..."
            with open(log) as f:
                for line in f:
                    if " ran, " in line:
                        for part in line.split(","):
                            if part.strip().endswith(" ran"):
                                return int(part.split()[0])
            return None
        o = os.path.join(self.proj(n, tool), "o")
        if not os.path.isdir(o):
            return None
        return sum(1 for e in os.scandir(o) if e.stat().st_mtime >= t0)

    def run(self, n, case, tool, rep, dry=False):
        log = os.path.join(self.logs, "%d-%s-%s-%d.log" % (n, tool, case, rep))
        with open(log, "w") as f:
            t0_wall = time.time() - 0.001
            t0 = time.perf_counter()
            rc = subprocess.call(self.command(tool, dry), cwd=self.proj(n, tool),
                                 stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            dt = time.perf_counter() - t0
        if rc != 0:
            self.failed.append((n, case, tool, rep, rc))
            print("  FAILED: %s %s N=%d rep %d exit %d (log %s)" % (tool, case, n, rep, rc, log),
                  flush=True)
            return None
        self.times.setdefault((n, case, tool), []).append(dt)
        self.ran[(n, case, tool)] = self.count_ran(n, tool, log, t0_wall)
        print("  %-9s %-8s N=%-5d rep %d: %8.3f s  (%s nodes ran)"
              % (tool, case, n, rep, dt, self.ran[(n, case, tool)]), flush=True)
        return dt

    # -- cases --------------------------------------------------------------
    def rounds(self, n, case, reps, prepare):
        # A tool with fewer repetitions takes part in the last rounds, so
        # that after the changed case every tool has seen the same input.
        last = max(reps.values()) if reps else 0
        for rep in range(last):
            for tool in TOOLS + ["serial"]:
                if tool in reps and rep >= last - reps[tool]:
                    if prepare:
                        prepare(n, tool, rep)
                    self.run(n, case, tool, rep)

    def seed_from_ninja(self, n, tool):
        """Give a tool whose cold build we skip at this N an up-to-date tree.

        make keeps no state besides the files, so a copy of ninja's outputs
        (same names, same bytes, mtimes kept in build order) is exactly what
        make itself would have left.  snakemake would also have left
        .snakemake/metadata; at N=1000 its no-op time with and without that
        metadata was within 10% (3.0-3.2 s vs 2.7-3.1 s).
        """
        src = os.path.join(self.proj(n, "ninja"), "o")
        dst = os.path.join(self.proj(n, tool), "o")
        self.clean(n, tool)
        if os.path.isdir(dst):
            shutil.rmtree(dst)
        subprocess.check_call(["cp", "-a", src, dst])
        self.notes.append("N=%d: %s's no-op and changed cases start from a copy of ninja's "
                          "outputs (its own cold build was not run at this N, or failed)." % (n, tool))

    def measure(self, n):
        big = n >= BIG
        print("== N=%d" % n, flush=True)
        if big:
            cold = {t: 1 for t in TOOLS if t in BIG_COLD}
        else:
            cold = {t: (SLOW_REPS if t == "snakemake" else REPS) for t in TOOLS}
            if SERIAL:
                cold["serial"] = 1
        print("-- cold (-j%d, outputs and state removed before each run)" % JOBS, flush=True)
        self.rounds(n, "cold", cold, self.clean)
        # A tool without an up-to-date tree would turn its no-op into a
        # cold build: seed it from ninja's outputs, or leave it out.
        ready = []
        for t in TOOLS:
            if self.times.get((n, "cold", t)):
                ready.append(t)
            elif t != "dagrun" and self.times.get((n, "cold", "ninja")):
                self.seed_from_ninja(n, t)
                ready.append(t)
            else:
                self.notes.append("N=%d: %s has no up-to-date state (its cold build failed or "
                                  "was not run): no no-op or changed figure." % (n, t))
        print("-- no-op (everything up to date)", flush=True)
        noop = {t: (SLOW_NOOP_REPS if t == "snakemake" else NOOP_REPS) for t in ready}
        for t in ready:          # one untimed warm-up for the quick ones
            if t != "snakemake":
                self.run(n, "warmup", t, 0)
        self.rounds(n, "noop", noop, None)
        print("-- changed (%s rewritten before each run)" % CHANGED_INPUT, flush=True)
        changed = {t: (SLOW_REPS if t == "snakemake" else REPS) for t in ready}
        self.rounds(n, "changed", changed, self.change)
        self.agree(n)

    def agree(self, n):
        """Do the tools agree on the bytes of one last-layer output?"""
        node = "n%d_%d" % (99, max(1, n // 100) - 1)
        got = {}
        for t in PEERS:
            p = os.path.join(self.proj(n, t), "o", node + ".txt")
            if os.path.exists(p):
                got[t] = open(p, "rb").read()
        try:
            show = subprocess.run([self.dagrun, "show", "--state", "state", "last", node],
                                  cwd=self.proj(n, "dagrun"), capture_output=True, text=True)
            for line in show.stdout.splitlines():
                f = line.split()
                if len(f) >= 3 and f[0] == "out.txt" and os.path.exists(f[-1]):
                    got["dagrun"] = open(f[-1], "rb").read()
        except OSError:
            pass
        same = len(set(got.values())) == 1
        msg = "N=%d: output of %s after the changed case: %s (%s)" % (
            n, node, "identical across tools" if same else "DIFFERS between tools",
            ", ".join(sorted(got)))
        self.notes.append(msg)
        print("  " + msg, flush=True)

    def planning(self, ns):
        print("-- planning: dagrun -n on the up-to-date state", flush=True)
        for rep in range(PLAN_REPS):
            for n in ns:
                self.run(n, "plan", "dagrun", rep, dry=True)

    # -- report -------------------------------------------------------------
    def best(self, n, case, tool):
        t = self.times.get((n, case, tool))
        return min(t) if t else None

    def median(self, n, case, tool):
        t = self.times.get((n, case, tool))
        return statistics.median(t) if t else None

    def table(self, ns, stat):
        head = ["N", "case", "dagrun s"]
        for p in PEERS:
            head += ["%s s" % p, "%s/dagrun" % p]
        head += ["nodes run (dagrun)"]
        rows = []
        for n in ns:
            for case in ("cold", "noop", "changed"):
                d = stat(n, case, "dagrun")
                row = [str(n), case, fmt(d)]
                for p in PEERS:
                    v = stat(n, case, p)
                    row += [fmt(v), ratio(v, d)]
                row.append(str(self.ran.get((n, case, "dagrun"), "-")))
                rows.append(row)
        return head, rows

    def reps_line(self, ns):
        parts = []
        for n in ns:
            for case in ("cold", "noop", "changed"):
                parts.append("N=%d %s: %s" % (n, case, ", ".join(
                    "%s %d" % (t, len(self.times.get((n, case, t), [])))
                    for t in TOOLS)))
        return parts

    def targets(self, ns):
        res = {}
        big = max(ns)
        small = min(ns)
        d = self.best(big, "noop", "dagrun")
        nj = self.best(big, "noop", "ninja")
        sm = self.best(big, "noop", "snakemake")
        res["noop_vs_ninja"] = (d / nj if d and nj else None)
        res["snakemake_vs_noop"] = (sm / d if d and sm else None)
        # engine overhead per node in a cold run
        ov = {}
        for n in ns:
            dc = self.best(n, "cold", "dagrun")
            if dc is None:
                continue
            ser = self.best(n, "cold", "serial")
            if ser is not None:
                ov[(n, "serial/%d" % JOBS)] = (dc - ser / JOBS) / n
            for p in ("make", "ninja"):
                pc = self.best(n, "cold", p)
                if pc is not None:
                    ov[(n, p)] = (dc - pc) / n
        res["overhead"] = ov
        p1 = self.best(small, "plan", "dagrun")
        p2 = self.best(big, "plan", "dagrun")
        res["plan"] = (p1, p2, p2 / p1 if p1 and p2 else None, big / small)
        return res


def fmt(v):
    return "-" if v is None else ("%.3f" % v if v < 10 else "%.1f" % v)


def ratio(v, d):
    return "-" if v is None or not d else "%.2fx" % (v / d)


def text_table(head, rows):
    w = [max(len(str(r[i])) for r in [head] + rows) for i in range(len(head))]
    line = lambda r: "  ".join(str(c).rjust(w[i]) for i, c in enumerate(r))
    return "\n".join([line(head), line(["-" * x for x in w])] + [line(r) for r in rows])


def md_table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def verdict(ok):
    return "n/a" if ok is None else ("MET" if ok else "NOT MET")


def version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines()[0]
    except Exception:
        return "?"


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    out, dagrun = sys.argv[1], os.path.abspath(sys.argv[2])
    ns = sorted(int(x) for x in sys.argv[3:])
    b = Bench(out, dagrun)
    start = time.time()
    load0 = open("/proc/loadavg").read().split()[:3]
    for n in ns:
        b.measure(n)
    b.planning(ns)
    elapsed = time.time() - start
    load1 = open("/proc/loadavg").read().split()[:3]
    return report(b, out, ns, elapsed, load0, load1)


def report(b, out, ns, elapsed, load0, load1, when=None):
    """Print the tables and write OUT/results.md and OUT/results.json."""
    tg = b.targets(ns)
    hb, rb = b.table(ns, b.best)
    hm, rm = b.table(ns, b.median)
    lines = []
    lines.append("Engine benchmark (best of the repetitions; ratio = peer time / dagrun time,"
                 " above 1 means dagrun is faster)")
    lines.append(text_table(hb, rb))
    lines.append("")
    lines.append("medians:")
    lines.append(text_table(hm, rm))
    lines.append("")
    tlines = []
    r = tg["noop_vs_ninja"]
    tlines.append(("no-op N=%d: dagrun/ninja <= 1.0" % max(ns),
                   "-" if r is None else "%.2f" % r, verdict(None if r is None else r <= 1.0)))
    r = tg["snakemake_vs_noop"]
    tlines.append(("no-op N=%d: snakemake/dagrun >= 50" % max(ns),
                   "-" if r is None else "%.1f" % r, verdict(None if r is None else r >= 50)))
    for (n, base), v in sorted(tg["overhead"].items()):
        tlines.append(("cold N=%d: engine overhead per node < 3 ms (baseline %s)" % (n, base),
                       "%.2f ms" % (v * 1000), verdict(v < 0.003)))
    p1, p2, pr, nr = tg["plan"]
    tlines.append(("planning: t(N=%d)/t(N=%d) <= %.0f (nodes x%d)"
                   % (max(ns), min(ns), 1.2 * nr, nr),
                   "-" if pr is None else "%.2f (%s s / %s s)" % (pr, fmt(p2), fmt(p1)),
                   verdict(None if pr is None else pr <= 1.2 * nr)))
    lines.append("targets:")
    lines.append(text_table(["target", "measured", "verdict"], [list(t) for t in tlines]))
    if b.failed:
        lines.append("")
        lines.append("FAILED runs (not counted): " + "; ".join(
            "%s %s N=%d rep %d exit %d" % (t, c, n, r, rc) for n, c, t, r, rc in b.failed))
    lines.append("")
    lines.append("bench took %.0f s; load average %s at the start, %s at the end"
                 % (elapsed, " ".join(load0), " ".join(load1)))
    print("\n".join(lines), flush=True)

    commit = version(["git", "-C", os.path.dirname(os.path.abspath(__file__)),
                      "rev-parse", "--short", "HEAD"])
    md = ["# Engine benchmark results", "",
          "Written by `bench/engine/run.sh` on %s (%s, %d cores, load average %s at the start "
          "and %s at the end; the bench took %.0f s). dagrun at commit %s plus the working tree."
          % (when or time.strftime("%Y-%m-%d %H:%M"), platform.machine(), os.cpu_count(),
             " ".join(load0), " ".join(load1), elapsed, commit), "",
          "Peers: %s; %s; %s." % (version(["ninja", "--version"]) and "ninja " + version(["ninja", "--version"]),
                                 version(["make", "--version"]),
                                 "snakemake " + version(["snakemake", "--version"])), "",
          "Seconds, best of the repetitions; `peer/dagrun` above 1 means dagrun is faster.", "",
          md_table(hb, rb), "", "Medians:", "", md_table(hm, rm), "",
          "## Targets", "",
          md_table(["target", "measured", "verdict"], [list(t) for t in tlines]), "",
          "## Repetitions", ""]
    md += ["- " + x for x in b.reps_line(ns)]
    md += ["- planning: %d runs of `dagrun -n` per N" % PLAN_REPS]
    ser = [(n, b.best(n, "cold", "serial")) for n in ns if b.best(n, "cold", "serial")]
    if ser:
        md += ["", "## The commands alone", ""]
        md += ["- N=%d: %s s for the %d commands one after the other (`serial.sh`), "
               "so about %s s of pure command time at -j%d"
               % (n, fmt(s), n, fmt(s / JOBS), JOBS) for n, s in ser]
    if b.notes or b.failed:
        md += ["", "## Notes", ""]
        md += ["- " + x for x in b.notes]
        md += ["- FAILED (not counted): %s %s N=%d rep %d exit %d, log in logs/" % (t, c, n, r, rc)
               for n, c, t, r, rc in b.failed]
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"times": {"%d/%s/%s" % k: v for k, v in b.times.items()},
                   "ran": {"%d/%s/%s" % k: v for k, v in b.ran.items()},
                   "failed": b.failed, "elapsed": elapsed, "load": [load0, load1],
                   "notes": b.notes}, f, indent=1)
    print("wrote %s" % os.path.join(out, "results.md"))
    return 1 if b.failed else 0


if __name__ == "__main__":
    sys.exit(main())
