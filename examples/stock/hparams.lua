-- Settings of the stock forecaster (examples/stock/pipeline.yaml:
-- `params: examples/stock/hparams.lua`, then `"${parent}"`, `"${child}"`...).
--
-- dagrun evaluates this file once, in a sandbox: it can compute, not touch
-- the machine (no io, os, require), so it cannot read the environment.
-- The size is chosen here, by one line:
--
--   SMALL = false  the reference system's model: 3 layers, hidden 128,
--                  every window, tens of epochs (about 15 minutes on 2 cores)
--   SMALL = true   the same graph, shrunk to run in well under a minute:
--                  CI (tests/integration/t_example_stock.sh) sets it in its
--                  scratch copy of this file
--
-- Mind Lua 5.4's number types: `2^6` and `64 / 1` are floats (64.0), which
-- a kernel's integer param refuses; write `1 << 6` or `64 // 1`.
local SMALL = false

-- The reference system's 7 inputs are open, high, low, close, volume, RSI14
-- and MACD.  The five price columns are the CSVs' own names (Yahoo's
-- layout; `Adj Close` is not among the reference's seven); RSI and MACD are
-- data.preprocess's `rsi` and `macd` switches, computed on the target.
local PRICES = {"Open", "High", "Low", "Close", "Volume"}
local TARGET = "Close"

-- 60 trading days in, 5 out: the reference's context and horizon.
local CONTEXT, HORIZON = 60, 5

-- The network: the parent and every child must have the same one, or
-- init_from refuses the parent's weights (it names the tensor and both
-- shapes).  Small: 2 layers keep a stacked LSTM with dropout between its
-- layers, so freezing still has several recurrent tensors to keep.
local net = SMALL
  and {num_layers = 2, hidden_size = 8, dropout = 0.2}
  or  {num_layers = 3, hidden_size = 128, dropout = 0.2}

-- A copy of 'base' with the fields of 'changes' laid over it.
local function with(base, changes)
  local out = {}
  for k, v in pairs(base) do out[k] = v end
  for k, v in pairs(changes or {}) do out[k] = v end
  return out
end

local lstm = with(net, {
  input_seq_len = CONTEXT,   -- checked against the windows' length
  batch_size = SMALL and 32 or 64,
  optimizer = "adam",
  clip_norm = 1.0,
  seed = 42,
})

return {
  -- data.load: only the columns the model reads (the timestamp and the
  -- target are always kept).
  columns = PRICES,
  target = TARGET,

  -- data.preprocess, the same for the parent and every child, so the
  -- parent's input features are the children's (and the scalers are fitted
  -- per ticker, on its own training rows).  SMALL keeps an evenly spaced
  -- sample of the windows: dagrun's row limit (data.load has none).
  -- (pipeline.yaml adds `time_features: []`: trading days get no calendar
  -- features, and a Lua {} would reach the kernel as an object, not a list)
  features = {
    rsi = true,                -- Close_rsi_14
    macd = true,               -- Close_macd, _macd_signal, _macd_hist
    scaler = "standard",
    input_seq_len = CONTEXT,
    output_seq_len = HORIZON,
    split = {0.7, 0.1, 0.2},
    sample_train_rows = SMALL and 256 or 0,
    sample_test_rows = SMALL and 64 or 0,
  },

  -- The parent, on the S&P 500 index.
  parent = with(lstm, {
    epochs = SMALL and 2 or 50,
    patience = SMALL and 0 or 8,
    learning_rate = 1e-3,
  }),

  -- A child per ticker, from the parent's weights.  The pipeline's matrix
  -- adds `freeze`: [recurrent] (the reference's `freeze` strategy: only the
  -- head learns) or [] (its `fine_tune`: everything learns, slowly).
  child = with(lstm, {
    init_from = "parent",
    epochs = SMALL and 2 or 20,
    patience = SMALL and 0 or 5,
    learning_rate = 3e-4,
    seed = 7,
  }),

  -- eval.promote, per ticker.  Daily prices are close to a random walk, so
  -- "tomorrow = today" is the bar; a seasonal naive forecast has no season
  -- to stand on here and is not asked for.
  promote = {
    alias = "production",
    weights = {rmse = 0.5, mae = 0.3, mse = 0.2},
    must_beat = {"persistence"},
  },

  -- drift.report: the reference's windows and health thresholds.  Days are
  -- calendar days (30 hold 19 to 21 trading rows); for trading days write
  -- current_rows = 30, reference_rows = 150 instead.
  drift = {
    reference_days = 150,
    current_days = 30,
    returns = "pct",
    drift_thresholds = {1.0, 2.0},
    vol_healthy = {0.6, 1.5},
    vol_critical = {0.4, 2.5},
  },
}
