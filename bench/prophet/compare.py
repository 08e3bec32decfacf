"""Compare dagrun's forecast (forecast.npy, T_test.npy) with R prophet's
(CSV from prophet.R) on the same held-out rows; prints one JSON line.

/usr/bin/python3 compare.py DAGRUN_DIR R.csv SERIES.csv VALUE_COLUMN [R_NEWTON.csv]
'sd' is the standard deviation of the whole series; an agreement is the
RMSE between two yhat columns divided by it: dagrun against R's default
fit (Stan's L-BFGS), and, given R_NEWTON.csv, against R fitted by Stan's
Newton (the exact optimum) and R's two fits against each other."""
import csv
import json
import math
import sys

import numpy as np

out, rcsv, series, ycol = sys.argv[1:5]
newton = np.genfromtxt(sys.argv[5], delimiter=",", names=True) if len(sys.argv) > 5 else None
f = np.load(out + "/forecast.npy")
t = np.load(out + "/T_test.npy")
r = np.genfromtxt(rcsv, delimiter=",", names=True)
y = np.array([float(row[ycol]) for row in csv.DictReader(open(series, newline=""))])
assert len(r) == len(t) and np.allclose(r["ds"], t), "the two forecasts cover other times"
assert np.allclose(r["y"], f[:, 3]), "the two held-out spans differ"


def rmse(a, b):
    return float(math.sqrt(np.mean((a - b) ** 2)))


def coverage(lo, hi, v):
    return float(np.mean((lo <= v) & (v <= hi)))


sd = float(np.std(y))
extra = {}
if newton is not None:
    extra = {"agreement_newton": rmse(f[:, 0], newton["yhat"]) / sd,
             "r_lbfgs_vs_newton": rmse(r["yhat"], newton["yhat"]) / sd,
             "rmse_r_newton": rmse(newton["yhat"], newton["y"])}
print(json.dumps(dict(extra, **{
    "rows": int(len(y)), "test_rows": int(len(t)), "sd": sd,
    "agreement": rmse(f[:, 0], r["yhat"]) / sd,
    "max_gap": float(np.max(np.abs(f[:, 0] - r["yhat"]))) / sd,
    "rmse_dagrun": rmse(f[:, 0], f[:, 3]), "rmse_r": rmse(r["yhat"], r["y"]),
    "coverage_dagrun": coverage(f[:, 1], f[:, 2], f[:, 3]),
    "coverage_r": coverage(r["yhat_lower"], r["yhat_upper"], r["y"]),
    "width_ratio": float(np.mean(f[:, 2] - f[:, 1]) /
                         np.mean(r["yhat_upper"] - r["yhat_lower"])),
})))
