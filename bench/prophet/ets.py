"""statsmodels' ExponentialSmoothing (additive trend and season) on one
series: the same held-out split as train.prophet; prints one JSON line.

/usr/bin/python3 ets.py CSV TIME_COLUMN VALUE_COLUMN FRAC PERIOD REPS
The rows are taken in order, as ETS sees them (gaps in time are ignored)."""
import csv
import json
import math
import sys
import time
import warnings

from statsmodels.tsa.holtwinters import ExponentialSmoothing

path, tcol, ycol, frac, period, reps = sys.argv[1:7]
y = [float(r[ycol]) for r in csv.DictReader(open(path, newline=""))]
n_test = round(len(y) * float(frac))
train, test = y[:-n_test], y[-n_test:]
times = []
for _ in range(int(reps)):
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = ExponentialSmoothing(train, trend="add", seasonal="add",
                                   seasonal_periods=int(period)).fit()
    times.append(time.perf_counter() - t0)
fc = fit.forecast(n_test)
rmse = math.sqrt(sum((a - b) ** 2 for a, b in zip(test, fc)) / n_test)
times.sort()
print(json.dumps({"fit": times[len(times) // 2], "rmse": rmse}))
