"""statsmodels' Holt-Winters on the same series, split and settings as
train.holt_winters (additive trend and season, the last 20% held out,
rows in order); prints one JSON line.

/usr/bin/python3 peer.py CSV VALUE_COLUMN PERIOD REPS MODEL_JSON

Two fits, each timed REPS times (the median counts; model construction
and fit, not the CSV):
- "default": ExponentialSmoothing(...).fit(), what a user runs; it
  estimates the initial states together with alpha, beta, gamma (SLSQP
  from a brute-force grid), so its SSE is lower than a fit from fixed
  states can reach.
- "same_states": ETSModel(error="add", ...) from dagrun's initial states
  (MODEL_JSON), held fixed (initialization_method="known"): the problem
  dagrun solves, since ETS(A,A,A) is this recursion with beta_ets = alpha
  beta and its Gaussian likelihood peaks at the least SSE.  (statsmodels'
  ExponentialSmoothing cannot hold the level and trend fixed in 0.13.)"""
import csv
import json
import math
import sys
import time
import warnings

import numpy as np
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.holtwinters import ExponentialSmoothing

path, ycol, period, reps, model_json = sys.argv[1:6]
period, reps = int(period), int(reps)
y = np.array([float(r[ycol]) for r in csv.DictReader(open(path, newline=""))])
n_test = int(math.floor(len(y) * 0.2 + 0.5))   # llround(), as the kernel
train, test = y[:-n_test], y[-n_test:]
ini = json.load(open(model_json))["initial"]


def default():
    return ExponentialSmoothing(train, trend="add", seasonal="add",
                                seasonal_periods=period).fit()


def same_states():
    return ETSModel(train, error="add", trend="add", seasonal="add",
                    seasonal_periods=period, initialization_method="known",
                    initial_level=ini["level"], initial_trend=ini["trend"],
                    initial_seasonal=np.array(ini["season"])).fit(disp=False)


def timed(fit):
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = fit()
        times.append(time.perf_counter() - t0)
    fc = np.asarray(res.forecast(n_test))
    rmse = math.sqrt(float(np.mean((test - fc) ** 2)))
    return {"fit": sorted(times)[len(times) // 2], "rmse": rmse, "sse": float(res.sse)}


print(json.dumps({"default": timed(default), "same_states": timed(same_states)}))
