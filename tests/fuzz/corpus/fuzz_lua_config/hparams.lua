-- Hyperparameters for the flagship forecasting pipeline (pipelines/full.yaml:
-- `params: lua/hparams.lua`, then `params: "${gru}"` and `"${lstm}"`).
--
-- dagrun evaluates this file once, in a sandbox: it can compute, but not
-- touch the machine (no io, os, require).  Whatever it returns becomes JSON.
-- Mind the number types: in Lua 5.4 `2^6` and `64 / 1` are floats (64.0),
-- which a kernel's integer param refuses; write `1 << 6` or `64 // 1`.

-- The window the features node cuts (its `input_seq_len`); both trainers
-- must read sequences of the same length.
local SEQ_LEN = 10

-- A copy of 'base' with the fields of 'changes' laid over it.
local function with(base, changes)
  local out = {}
  for k, v in pairs(base) do out[k] = v end
  for k, v in pairs(changes or {}) do out[k] = v end
  return out
end

-- What both recurrent trainers share.
local recurrent = {
  hidden_size = 64,
  num_layers = 2,
  learning_rate = 1e-3,
  epochs = 10,
  batch_size = 1 << 6,
  input_seq_len = SEQ_LEN,
}

return {
  gru = with(recurrent),
  -- An LSTM cell carries 4 gates to the GRU's 3, so the same hidden size
  -- already gives it a third more weights: same settings, a fair race.
  -- Override a field to tune one alone: with(recurrent, {epochs = 20}).
  lstm = with(recurrent),
}
