# Public survival data sets as trial subjects, and the numbers R computes for them.
# Run: Rscript make_corpus.R   (writes <name>.subjects.csv and <name>.json beside it)
#
# Each data set becomes one row per subject in days from the CAR-T infusion (day 0):
#   os_day, os_event                 death (1) or last contact (0)
#   rel_day, rel_event               relapse (1) or last remission assessment (0);
#                                    only for data sets with a recurrence (colon, rotterdam),
#                                    where every subject is in CR at day 28.
# tests/corpus.py writes the EDC drop from these rows (the pipeline must find the same
# times again); the endpoints below restate endpoints.md for such subjects:
#   OS  = (os_day, os_event)
#   DFS = from day 28 to relapse or death; censored at the last remission assessment
#   EFS = DFS + 28 days (the CR at day 28 means no treatment failure)
#   CIR = relapse (1), death without relapse (2), censored (0), times as DFS
#   NRM = death without relapse (1), relapse (2)
#   DOR = relapse; a death without relapse (not of leukaemia) is censored
suppressMessages({library(survival); library(cmprsk)})
months <- c(6, 12, 24)
landmarks <- months * 30.4375
source("../json.R")  # to_json
na <- function(x) if (length(x) == 0) NA else unname(x)

km <- function(t, s) {
  fit <- survfit(Surv(t, s) ~ 1, conf.type = "log-log")
  q <- quantile(fit, probs = 0.5)
  sm <- summary(fit, times = landmarks, extend = TRUE)
  ended <- tail(fit$surv, 1) == 0
  out <- list(n = length(t), n_events = sum(s), median = na(q$quantile),
              median_lcl = na(q$lower), median_ucl = na(q$upper))
  for (i in seq_along(months)) {
    nm <- paste0("rate_", months[i], "m")
    inside <- landmarks[i] <= max(t)   # endpoints.md: empty past the last observation
    out[[nm]] <- if (inside || ended) na(sm$surv[i]) else NA
    out[[paste0(nm, "_lcl")]] <- if (inside) na(sm$lower[i]) else NA
    out[[paste0(nm, "_ucl")]] <- if (inside) na(sm$upper[i]) else NA
  }
  out
}

cif <- function(t, s) {
  fit <- cuminc(t, s, cencode = 0)
  est <- timepoints(fit, landmarks)
  f <- est$est["1 1", ]; v <- est$var["1 1", ]
  ended <- {  # everyone at risk at the last time had an event: the incidence is final
    last <- max(t); all(s[t == last] != 0)
  }
  out <- list(n = length(t), n_events = sum(s == 1))
  for (i in seq_along(months)) {
    nm <- paste0("rate_", months[i], "m")
    inside <- landmarks[i] <= max(t)
    val <- if (inside || ended) na(f[i]) else NA
    # log(-log) CI as tidycmprsk: F^exp(+-z se / (F log F))
    se <- sqrt(v[i]) / (f[i] * abs(log(f[i])))
    lo <- exp(-exp(log(-log(f[i])) + qnorm(0.975) * se))
    hi <- exp(-exp(log(-log(f[i])) - qnorm(0.975) * se))
    ok <- inside && is.finite(se) && f[i] > 0 && f[i] < 1
    out[[nm]] <- val
    out[[paste0(nm, "_lcl")]] <- if (ok) na(lo) else NA
    out[[paste0(nm, "_ucl")]] <- if (ok) na(hi) else NA
  }
  out
}

logrank <- function(t, s, g) {
  lr <- survdiff(Surv(t, s) ~ g)
  list(chisq = lr$chisq, p = pchisq(lr$chisq, length(lr$n) - 1, lower.tail = FALSE))
}
gray <- function(t, s, g) {
  ts <- cuminc(t, s, g, cencode = 0)$Tests
  list(chisq = ts["1", "stat"], p = ts["1", "pv"])
}

endpoints <- function(d) {
  out <- list(OS = list(time = d$os_day, status = d$os_event, kind = "km"))
  if (!all(is.na(d$rel_day))) {
    r <- d$rel_event == 1; dead <- d$os_event == 1
    dfs_t <- ifelse(r, d$rel_day, ifelse(dead, d$os_day, d$rel_day)) - 28
    out$EFS <- list(time = dfs_t + 28, status = as.integer(r | dead), kind = "km")
    out$DFS <- list(time = dfs_t, status = as.integer(r | dead), kind = "km")
    out$DOR <- list(time = dfs_t, status = as.integer(r), kind = "km")
    out$CIR <- list(time = dfs_t, status = ifelse(r, 1L, ifelse(dead, 2L, 0L)), kind = "cif")
    out$NRM <- list(time = dfs_t, status = ifelse(r, 2L, ifelse(dead, 1L, 0L)), kind = "cif")
  }
  out
}

reference <- function(d) {
  res <- list()
  for (e in names(eps <- endpoints(d))) {
    ep <- eps[[e]]; f <- if (ep$kind == "km") km else cif
    rows <- list(all = f(ep$time, ep$status))
    if (length(unique(d$sex)) > 1) {
      for (lv in sort(unique(d$sex))) rows[[lv]] <- f(ep$time[d$sex == lv], ep$status[d$sex == lv])
      rows$test <- if (ep$kind == "km") logrank(ep$time, ep$status, d$sex) else gray(ep$time, ep$status, d$sex)
    }
    res[[e]] <- rows
  }
  res
}

write_set <- function(name, d) {
  d <- d[order(d$id), ]
  write.csv(d, paste0(name, ".subjects.csv"), row.names = FALSE, na = "")
  writeLines(to_json(reference(d)), paste0(name, ".json"))
}
sex_mf <- function(x) ifelse(x == 1 | x == "m" | x == "M", "M", "F")

# lung: NCCTG advanced lung cancer; status 2 = death.
write_set("lung", data.frame(id = seq_len(nrow(lung)), sex = sex_mf(lung$sex), age = lung$age,
                             os_day = lung$time, os_event = as.integer(lung$status == 2),
                             rel_day = NA, rel_event = NA))
# myeloma: multiple myeloma survival (no sex recorded: all F here, so no subgroup rows).
write_set("myeloma", data.frame(id = myeloma$id, sex = "F", age = 60, os_day = myeloma$futime,
                                os_event = myeloma$death, rel_day = NA, rel_event = NA))
# flchain: serum free light chain cohort; deaths, follow-up in days (futime 0 kept: death on day 0).
fl <- flchain
write_set("flchain", data.frame(id = seq_len(nrow(fl)), sex = as.character(fl$sex), age = pmin(fl$age, 100),
                                os_day = fl$futime, os_event = fl$death, rel_day = NA, rel_event = NA))
# colon: adjuvant chemotherapy trial; etype 1 recurrence, 2 death. A recurrence on day 0 of
# follow-up cannot follow the day-28 remission on another day: none has time 0 (min 8).
rec <- colon[colon$etype == 1, ]; dth <- colon[colon$etype == 2, ]
stopifnot(all(rec$id == dth$id), all(rec$time <= dth$time))
write_set("colon", data.frame(id = rec$id, sex = sex_mf(rec$sex), age = rec$age,
                              os_day = 28 + dth$time, os_event = dth$status,
                              rel_day = 28 + rec$time, rel_event = rec$status))
# rotterdam: breast cancer; recurrence (rtime, recur) and death (dtime, death). A recurrence
# recorded after the death is taken as not observed (the drop cannot hold a record after a death).
ro <- rotterdam
rel <- ro$recur == 1 & ro$rtime <= ro$dtime
write_set("rotterdam", data.frame(id = ro$pid, sex = "F", age = ro$age,
                                  os_day = 28 + ro$dtime, os_event = ro$death,
                                  rel_day = 28 + pmin(ro$rtime, ro$dtime), rel_event = as.integer(rel)))
