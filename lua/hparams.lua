-- Hyperparameters for the flagship forecasting pipeline (pipelines/full.yaml:
-- `params: lua/hparams.lua`, then `params: "${gru}"`, `"${lstm}"`, ...).
--
-- dagrun evaluates this file once, in a sandbox: it can compute, but not
-- touch the machine (no io, os, require).  Whatever it returns becomes JSON.
-- Mind the number types: in Lua 5.4 `2^6` and `64 / 1` are floats (64.0),
-- which a kernel's integer param refuses; write `1 << 6` or `64 // 1`.
--
-- The settings come from the sweeps in examples/sweeps/ (results in
-- docs/forecast-quality.md): on ETTh1 a network that predicts the level
-- loses to "next hour = this hour"; one that predicts the change from the
-- last observed value (residual = true) beats it on every seed tried.

-- The windows the two features nodes cut (their `input_seq_len`): the GRU
-- wins with 10 hours, the LSTM with 24.
local SEQ_LEN = 10
local LSTM_SEQ_LEN = 24

-- A copy of 'base' with the fields of 'changes' laid over it.
local function with(base, changes)
  local out = {}
  for k, v in pairs(base) do out[k] = v end
  for k, v in pairs(changes or {}) do out[k] = v end
  return out
end

-- What the trainers share.
local common = {
  learning_rate = 1e-3,
  epochs = 10,
  batch_size = 1 << 6,
  seed = 0,
}

local recurrent = with(common, {
  hidden_size = 64,
  num_layers = 2,
  residual = true,
})

return {
  seq_len = SEQ_LEN,
  lstm_seq_len = LSTM_SEQ_LEN,
  gru = with(recurrent, {input_seq_len = SEQ_LEN}),
  lstm = with(recurrent, {input_seq_len = LSTM_SEQ_LEN}),
  -- The reference system's deeper variants, on the GRU's windows.
  tcn = with(common, {channels = {32, 32, 32}, kernel_size = 3, input_seq_len = SEQ_LEN}),
  encoder_lstm = with(common, {hidden_size = 64, num_layers = 2, input_seq_len = SEQ_LEN}),
}
