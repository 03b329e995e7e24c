# Reference values of the pooled analysis (trial_outcomes/analysis/pooled.py), computed
# with R's survival package on survival::lung with the institution made a "trial":
# inst 1-5 -> a, 6-12 -> b, 13 and over -> c (rows without inst left out).
# Run: Rscript make_pooled.R (writes pooled.csv and pooled.json here).
suppressMessages(library(survival))
source("../json.R")
d <- lung[!is.na(lung$inst), ]
d$TRIAL <- ifelse(d$inst <= 5, "a", ifelse(d$inst <= 12, "b", "c"))
d$SEX <- ifelse(d$sex == 1, "M", "F")
d$event <- d$status - 1
write.csv(data.frame(TRIAL = d$TRIAL, SEX = d$SEX, time = d$time, event = d$event), "pooled.csv", row.names = FALSE)

across <- survdiff(Surv(time, event) ~ TRIAL, d)
strat <- survdiff(Surv(time, event) ~ SEX + strata(TRIAL), d)
d$female <- as.numeric(d$SEX == "F")
cox <- summary(coxph(Surv(time, event) ~ female + strata(TRIAL), d))
per_trial <- lapply(c("a", "b", "c"), function(t) {
  s <- summary(coxph(Surv(time, event) ~ female, d[d$TRIAL == t, ]))
  list(hr = s$conf.int[1, 1], lcl = s$conf.int[1, 3], ucl = s$conf.int[1, 4], p = s$coefficients[1, 5],
       b = s$coefficients[1, 1], se = s$coefficients[1, 3])
})
names(per_trial) <- c("a", "b", "c")
b <- sapply(per_trial, function(x) x$b); se <- sapply(per_trial, function(x) x$se)
w <- 1 / se^2; q <- sum(w * (b - sum(w * b) / sum(w))^2)
km <- lapply(c("a", "b", "c", "all"), function(t) {
  rows <- if (t == "all") d else d[d$TRIAL == t, ]
  f <- survfit(Surv(time, event) ~ 1, rows, conf.type = "log-log")
  s <- summary(f, times = 365.25)
  q <- quantile(f, 0.5)
  list(median = unname(q$quantile), lcl = unname(q$lower), ucl = unname(q$upper),
       rate = s$surv, rate_lcl = s$lower, rate_ucl = s$upper)
})
names(km) <- c("a", "b", "c", "all")
# Trial c records no SEX and the first subject of a has none: R's default na.action
# leaves their rows out of each model (the pooled analysis's n_unrecorded).
u <- d
u$SEX[u$TRIAL == "c" | seq_len(nrow(u)) == which(u$TRIAL == "a")[1]] <- NA
u$female <- as.numeric(u$SEX == "F")
u_strat <- survdiff(Surv(time, event) ~ SEX + strata(TRIAL), u)
u_cox <- summary(coxph(Surv(time, event) ~ female + strata(TRIAL), u))
u_a <- summary(coxph(Surv(time, event) ~ female, u[u$TRIAL == "a", ]))
u_trials <- lapply(c("a", "b"), function(t) summary(coxph(Surv(time, event) ~ female, u[u$TRIAL == t, ]))$coefficients[1, ])
u_b <- sapply(u_trials, function(x) x[1]); u_se <- sapply(u_trials, function(x) x[3])
u_w <- 1 / u_se^2; u_q <- sum(u_w * (u_b - sum(u_w * u_b) / sum(u_w))^2)
unrecorded <- list(
  n = u_cox$n, n_a = u_a$n,
  stratified = list(chisq = u_strat$chisq, p = pchisq(u_strat$chisq, 1, lower.tail = FALSE)),
  cox = list(hr = u_cox$conf.int[1, 1], lcl = u_cox$conf.int[1, 3], ucl = u_cox$conf.int[1, 4],
             p = u_cox$coefficients[1, 5]),
  a = list(hr = u_a$conf.int[1, 1], lcl = u_a$conf.int[1, 3], ucl = u_a$conf.int[1, 4], p = u_a$coefficients[1, 5]),
  q = list(q = u_q, p = pchisq(u_q, 1, lower.tail = FALSE))
)
pt <- suppressWarnings(prop.test(c(5, 9, 14), c(40, 50, 45), correct = FALSE))
cp <- binom.test(9, 50)$conf.int
out <- list(
  across = list(chisq = across$chisq, df = length(across$n) - 1, p = pchisq(across$chisq, 2, lower.tail = FALSE)),
  stratified = list(chisq = strat$chisq, p = pchisq(strat$chisq, 1, lower.tail = FALSE)),
  cox = list(hr = cox$conf.int[1, 1], lcl = cox$conf.int[1, 3], ucl = cox$conf.int[1, 4], p = cox$coefficients[1, 5]),
  per_trial = per_trial,
  q = list(q = q, p = pchisq(q, 2, lower.tail = FALSE), i2 = 100 * max(0, (q - 2) / q)),
  km = km,
  prop_test = list(chisq = unname(pt$statistic), p = pt$p.value),
  clopper_pearson = list(lcl = cp[1], ucl = cp[2]),
  unrecorded = unrecorded
)
writeLines(to_json(out), "pooled.json")
