-- Settings of the rock-paper-scissors move predictor
-- (examples/rps/pipeline.yaml: `params: examples/rps/hparams.lua`).
--
-- dagrun evaluates this file once, in a sandbox: it can compute, not touch
-- the machine.  The size is one line:
--
--   SMALL = false  600 simulated games of 40 rounds, full-size models
--                  (about a minute on 2 cores)
--   SMALL = true   the same graph on 150 games of 30 rounds, in seconds:
--                  CI (tests/integration/t_example_rps.sh) sets it in its
--                  scratch copy of this file
local SMALL = false

-- The simulated history: every bot of rps.simulate, a tenth of their moves
-- random, 30% of the games recorded by the legacy game (the AI random).
local simulate = {
  games = SMALL and 150 or 600,
  rounds = SMALL and 30 or 40,
  legacy_share = 0.3,
  noise = 0.1,
  seed = 1,
}

-- What the trainers learn from: the 50 features of rps.features (every
-- number column) to the opponent's next move; games never split.
local data = {label = "next_move", group = "game"}

local function with(base, changes)
  local out = {}
  for k, v in pairs(base) do out[k] = v end
  for k, v in pairs(changes or {}) do out[k] = v end
  return out
end

-- The four model families.  Epochs and rounds shrink with SMALL.
local E = SMALL and 10 or 30
local models = {
  softmax = with(data, {epochs = E, learning_rate = 0.01, l2 = 0.0001, seed = 1}),
  mlp = with(data, {hidden = {64}, epochs = E, learning_rate = 0.003, seed = 1}),
  mlp_deep = with(data, {hidden = {64, 32}, dropout = 0.1, epochs = E,
                         learning_rate = 0.003, seed = 1}),
  xgboost = with(data, {num_rounds = SMALL and 40 or 120, max_depth = 4,
                        eta = 0.1, seed = 1}),
}

-- The three training steps (the reference system's):
--   1. holdout: chronological 60/20/20 (the latest games are the test);
--   2. production: games shuffled, 80/20, the models that play;
--   3. cv: 3-fold cross-validation over shuffled games.
local steps = {
  holdout = {test_fraction = 0.2, val_fraction = 0.2, shuffle_split = false},
  production = {test_fraction = 0.2, val_fraction = 0.0, shuffle_split = true},
  cv = {folds = 3, val_fraction = 0.0, shuffle_split = true},
}
local holdout, production, cv = {}, {}, {}
for name, m in pairs(models) do
  holdout[name] = with(m, steps.holdout)
  production[name] = with(m, steps.production)
  cv[name] = with(m, steps.cv)
end
-- only the holdout has a validation part to stop early on
holdout.xgboost.early_stopping = 10

-- Recorded outcomes: every production model plays the same games against
-- the bots (paired), a fresh seed so no game was seen in training.
local play = {
  games = SMALL and 70 or 280,
  rounds = SMALL and 30 or 40,
  noise = 0.1,
  seed = 99,
}

-- Promotion: the best win rate takes production only if a one-sided
-- two-proportion z-test at alpha says it beats the holder; the others are
-- B, shadow1 and shadow2 in rank order.
local promote = {
  model = "rps",
  rule = "ztest",
  alpha = 0.05,
  challenger = {"B", "shadow1", "shadow2"},
}

return {
  simulate = simulate,
  holdout = holdout,
  production = production,
  cv = cv,
  play = play,
  promote = promote,
}
