#!/usr/bin/python3
"""Parity for data.preprocess: recompute its outputs with pandas and numpy.

    preprocess.py CSV TIMESTAMP_COLUMN PARAMS_JSON OUT_DIR

Reads CSV with pandas (not through dagrun), derives the features the way
the pandas/NumPy world writes them (shift, rolling, pct_change, ewm,
dt.dayofweek, ...), drops the warm-up rows, splits, scales on the training
rows and cuts the windows; then compares with the .npy files and
meta.json that data.preprocess left in OUT_DIR.  PARAMS_JSON holds the
node's params (the ones given; defaults are filled in here).  Floats must
agree within 1e-6 relative to the scale of the values (float32 outputs),
times exactly.  Prints one "ok"/"FAIL" line per check and ends with
"N passed, N failed"; exits 1 on any failure.
"""
import io
import json
import os
import sys

import numpy as np
import pandas as pd

DEFAULTS = {
    "data": None, "target": "value", "features": None,
    "time_features": ["min_of_day", "day_of_week", "day_of_year"],
    "lags": [], "rolling": [], "returns": False, "rsi": False, "macd": False,
    "scaler": "standard", "input_seq_len": 10, "output_seq_len": 1,
    "split": [0.7, 0.1, 0.2], "sample_train_rows": 0, "sample_test_rows": 0,
    "seed": 0,
}
TOL = 1e-6


def rsi(y, p=14):
    """Wilder's RSI: plain means of the first p changes, then smoothing."""
    d = np.diff(y)
    gain, loss = np.where(d > 0, d, 0.0), np.where(d < 0, -d, 0.0)
    out = np.full(len(y), np.nan)
    if len(d) < p:
        return out
    g, l = gain[:p].mean(), loss[:p].mean()
    for i in range(p, len(y)):
        if i > p:
            g = (g * (p - 1) + gain[i - 1]) / p
            l = (l * (p - 1) + loss[i - 1]) / p
        out[i] = 100 * g / (g + l) if g + l > 0 else 50.0
    return out


def time_features(ts, names):
    cols = {}
    for name in names:
        if name == "min_of_day":
            v, period = ts.dt.hour * 60 + ts.dt.minute, 1440
        elif name == "day_of_week":
            v, period = ts.dt.dayofweek, 7          # Monday = 0
        else:
            v, period = ts.dt.dayofyear - 1, 365 + ts.dt.is_leap_year.astype(int)
        angle = 2 * np.pi * v.to_numpy(dtype=float) / np.asarray(period, dtype=float)
        cols[name + "_sin"], cols[name + "_cos"] = np.sin(angle), np.cos(angle)
    return cols


def build(csv, ts_col, p):
    df = pd.read_csv(csv)
    ts = pd.to_datetime(df[ts_col], utc=True)
    num = df.drop(columns=[ts_col]).select_dtypes("number").astype("float64")
    target = p["target"]
    if target not in num.columns:             # the fallback
        col = "value" if "value" in num.columns else num.columns[0]
        num = num.rename(columns={col: "value"})
        target = "value"
    y = num[target]
    X = pd.DataFrame({c: num[c] for c in (p["features"] or list(num.columns))})
    for k, v in time_features(ts, p["time_features"]).items():
        X[k] = v
    for k in p["lags"]:
        X[f"{target}_lag_{k}"] = y.shift(k)
    for w in p["rolling"]:
        X[f"{target}_roll_mean_{w}"] = y.rolling(w).mean()
        X[f"{target}_roll_std_{w}"] = y.rolling(w).std()
    if p["returns"]:
        X[f"{target}_return"] = y.pct_change()
    if p["rsi"]:
        X[f"{target}_rsi_14"] = rsi(y.to_numpy())
    if p["macd"]:
        line = (y.ewm(span=12, adjust=False).mean() -
                y.ewm(span=26, adjust=False).mean())
        signal = line.ewm(span=9, adjust=False).mean()
        X[f"{target}_macd"], X[f"{target}_macd_signal"] = line, signal
        X[f"{target}_macd_hist"] = line - signal
    warm = int(np.argmax(X.notna().all(axis=1).to_numpy()))
    secs = (ts - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    return X.iloc[warm:], y.iloc[warm:].to_numpy(), secs.iloc[warm:].to_numpy(), target


def fit(train, kind):
    if kind == "standard":
        a, b = train.mean(axis=0), train.std(axis=0)      # numpy: ddof 0
        return a, np.where(b > 0, b, 1.0), ("mean", "std")
    if kind == "minmax":
        a, b = train.min(axis=0), train.max(axis=0)
        b = np.where(b > a, b, a + 1)
        return a, b - a, ("min", "max")
    return np.zeros(train.shape[1]), np.ones(train.shape[1]), None


def windows(xs, ys, t, r0, rows, L, H, sample):
    n = max(rows - L - H + 1, 0)
    idx = np.arange(n) if sample <= 0 or sample >= n else (np.arange(sample) * n) // sample
    s = r0 + idx
    X = np.stack([xs[i:i + L] for i in s]) if len(s) else np.zeros((0, L, xs.shape[1]))
    Y = np.stack([ys[i + L:i + L + H] for i in s]) if len(s) else np.zeros((0, H))
    return X, Y, t[s + L] if len(s) else np.zeros(0, dtype=np.int64)


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print("ok   " + name)
        else:
            self.failed += 1
            print("FAIL " + name + (": " + detail if detail else ""))

    def close(self, name, got, want):
        if got.shape != want.shape:
            return self.check(name, False, f"shape {got.shape} != {want.shape}")
        scale = max(1.0, float(np.max(np.abs(want)))) if want.size else 1.0
        err = float(np.max(np.abs(got.astype(np.float64) - want))) if want.size else 0.0
        self.check(name, err <= TOL * scale, f"max |diff| {err:.3g} (scale {scale:.3g})")


def main():
    csv, ts_col, params, out = sys.argv[1:5]
    p = dict(DEFAULTS, **json.loads(params))
    X, y, t, target = build(csv, ts_col, p)
    meta = json.load(open(os.path.join(out, "meta.json")))
    c = Checks()
    c.check("feature names and order", meta["features"] == list(X.columns),
            f"{meta['features']} != {list(X.columns)}")
    c.check("target", meta["target"] == target)
    kept = len(X)
    rows = [int(kept * p["split"][0]), int(kept * p["split"][1])]
    rows.append(kept - sum(rows))
    c.check("rows per part", [meta["rows"][k] for k in ("train", "val", "test")] == rows,
            f"{meta['rows']} != {rows}")
    xv = X.to_numpy()
    a, d, keys = fit(xv[:rows[0]], p["scaler"])
    ta, td, _ = fit(y[:rows[0]].reshape(-1, 1), p["scaler"])
    if keys:
        got = np.array([[meta["scaler"]["params"][f][k] for k in keys] for f in X.columns])
        want = np.stack([a, a + d if keys[0] == "min" else d], axis=1)
        c.close("scaler params (fitted on the training rows)", got, want)
        tp = meta["target_scaler"]["params"][target]
        c.close("target scaler params", np.array([tp[keys[0]], tp[keys[1]]]),
                np.array([ta[0], ta[0] + td[0] if keys[0] == "min" else td[0]]))
    xs, ys = (xv - a) / d, (y - ta[0]) / td[0]
    L, H = p["input_seq_len"], p["output_seq_len"]
    r0 = 0
    for part, rows_, sample in zip(("train", "val", "test"), rows,
                                   (p["sample_train_rows"], 0, p["sample_test_rows"])):
        Xw, Yw, Tw = windows(xs, ys, t, r0, rows_, L, H, sample)
        r0 += rows_
        c.close(f"X_{part}", np.load(os.path.join(out, f"X_{part}.npy")), Xw)
        c.close(f"Y_{part}", np.load(os.path.join(out, f"Y_{part}.npy")), Yw)
        got_t = np.load(os.path.join(out, f"T_{part}.npy"))
        c.check(f"T_{part}", got_t.dtype == np.int64 and np.array_equal(got_t, Tw))
        c.check(f"{part} windows in meta", meta["splits"][part] == len(Xw))
    for name in sorted(f for f in os.listdir(out) if f.endswith(".npy")):
        raw = open(os.path.join(out, name), "rb").read()
        saved = io.BytesIO()
        np.save(saved, np.load(io.BytesIO(raw)))
        c.check(f"{name} is what numpy.save writes", saved.getvalue() == raw)
    print(f"{c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
