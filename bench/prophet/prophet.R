# R's prophet (the reference implementation) on one series, with the
# settings train.prophet uses by default: linear growth, 25 changepoints
# over the first 80%, prior scales 0.05 / 10 / 10, US holidays, auto
# seasonalities, 80% intervals from 1000 samples.  The last 'frac' of the
# rows (rounded) is held out and forecast.
#
# Rscript prophet.R CSV TIME_COLUMN VALUE_COLUMN FRAC OUT.csv REPS [ALGORITHM]
# writes OUT.csv (ds as unix seconds, yhat, yhat_lower, yhat_upper, y) and
# prints one JSON line: the first fit (cold: loads the Stan model), the
# median of REPS more fits (warm; the cold one when REPS is 0), the predict
# time, and the objective's parameters k, m, sigma_obs.  ALGORITHM is
# Stan's optimizer: LBFGS (Prophet's default) or Newton (which Prophet
# uses below 100 rows and when L-BFGS fails).
suppressMessages(library(prophet))
args <- commandArgs(trailingOnly = TRUE)
frac <- as.numeric(args[4])
reps <- as.integer(args[6])
algorithm <- if (length(args) >= 7) args[7] else "LBFGS"
raw <- read.csv(args[1], stringsAsFactors = FALSE)
df <- data.frame(ds = as.POSIXct(raw[[args[2]]], tz = "UTC", format = "%Y-%m-%d %H:%M:%OS"),
                 y = as.numeric(raw[[args[3]]]))
if (anyNA(df$ds))  # dates without a time of day
  df$ds <- as.POSIXct(raw[[args[2]]], tz = "UTC", format = "%Y-%m-%d")
n <- nrow(df)
n_test <- round(n * frac)
train <- df[1:(n - n_test), ]
test <- df[(n - n_test + 1):n, ]

fit_once <- function() {
  m <- prophet(growth = "linear", n.changepoints = 25, changepoint.range = 0.8,
               changepoint.prior.scale = 0.05, seasonality.mode = "additive",
               seasonality.prior.scale = 10, holidays.prior.scale = 10,
               yearly.seasonality = "auto", weekly.seasonality = "auto",
               daily.seasonality = "auto", interval.width = 0.8,
               uncertainty.samples = 1000, fit = FALSE)
  m <- add_country_holidays(m, "US")
  suppressMessages(fit.prophet(m, train, algorithm = algorithm))
}

elapsed <- function(f) {
  t0 <- proc.time()[["elapsed"]]
  v <- f()
  list(value = v, seconds = proc.time()[["elapsed"]] - t0)
}

set.seed(0)
cold <- elapsed(fit_once)
warm <- vapply(seq_len(reps), function(i) elapsed(fit_once)$seconds, numeric(1))
if (reps == 0) warm <- cold$seconds
m <- cold$value
pred <- elapsed(function() predict(m, data.frame(ds = test$ds)))
fc <- pred$value
write.csv(data.frame(ds = as.numeric(test$ds), yhat = fc$yhat, yhat_lower = fc$yhat_lower,
                     yhat_upper = fc$yhat_upper, y = test$y),
          args[5], row.names = FALSE)
cat(sprintf(paste0('{"fit_cold": %.4f, "fit_warm": %.4f, "predict": %.4f, ',
                   '"k": %.10g, "m": %.10g, "sigma_obs": %.10g, "holidays": %d}\n'),
            cold$seconds, median(warm), pred$seconds, m$params$k, m$params$m,
            m$params$sigma_obs, length(unique(m$train.holiday.names))))
