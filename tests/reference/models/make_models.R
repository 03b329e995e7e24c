# Reference numbers for the models of issue 24, from R (survival, cmprsk).
# Run: Rscript make_models.R   (in this folder; writes lung_models.csv, mgus2_models.csv, models.json)
# sample_models.csv is written by the pipeline's own code from the sample drop
# (python -m tests.analysis.test_models_reference); a test checks it is still what the
# pipeline reads. Every number below is R's, from those CSVs.
suppressMessages({library(survival); library(cmprsk)})
source("../json.R")  # to_json

wald_p <- function(coef, se) 2 * pnorm(-abs(coef / se))
cox_block <- function(fit) {
  coef <- unname(coef(fit)); se <- unname(sqrt(diag(fit$var)))
  list(coef = coef, se = se, p = wald_p(coef, se))
}
zph_block <- function(fit) {
  z <- cox.zph(fit)$table  # survival >= 3.0: score test, transform = "km"
  list(chisq = unname(z[, "chisq"]), df = unname(z[, "df"]), p = unname(z[, "p"]))
}
crr_block <- function(fit) {
  coef <- unname(fit$coef); se <- unname(sqrt(diag(fit$var)))
  list(coef = coef, se = se, p = wald_p(coef, se), loglik = fit$loglik, converged = fit$converged)
}
strat_block <- function(formula, data) {
  s <- tryCatch(survdiff(formula, data = data), error = function(e) NULL)
  if (is.null(s)) {
    # survdiff stops on a singular variance: a level alone in its stratum is never compared
    # with another, so the test is the one over the levels that share a stratum with another
    # level (the generalized inverse's test, SAS's form, on that many levels less one df)
    v <- all.vars(formula)[3]
    st <- sub("^strata\\((.*)\\)$", "\\1", attr(terms(formula), "term.labels")[2])
    seen <- table(data[[v]], data[[st]]) > 0
    shared <- rownames(seen)[rowSums(seen[, colSums(seen) > 1, drop = FALSE]) > 0]
    kept <- data[data[[v]] %in% shared, ]
    s <- survdiff(formula, data = kept)
    df <- length(shared) - 1
    return(list(chisq = s$chisq, p = pchisq(s$chisq, df, lower.tail = FALSE), df = df))
  }
  df <- length(s$n) - 1
  if (!is.null(dim(s$obs))) df <- nrow(s$obs) - 1
  list(chisq = s$chisq, p = pchisq(s$chisq, df, lower.tail = FALSE), df = df)
}

# --- survival::lung: multivariable Cox, cox.zph, stratified log-rank -----------------------
lung_m <- na.omit(lung[, c("time", "status", "age", "sex", "ph.ecog", "ph.karno")])
lung_m$status <- lung_m$status - 1
write.csv(lung_m, "lung_models.csv", row.names = FALSE)
fit <- coxph(Surv(time, status) ~ age + factor(sex) + factor(ph.ecog) + ph.karno, data = lung_m, ties = "efron")
zr <- cox.zph(fit, terms = FALSE)
lung_out <- list(
  cox = cox_block(fit), zph = zph_block(fit),
  zph_karno = list(time = unname(zr$time), x = unname(zr$x), y = unname(zr$y[, "ph.karno"])),
  strat = list(
    sex_by_ecog = strat_block(Surv(time, status) ~ sex + strata(ph.ecog), lung_m),
    ecog_by_sex = strat_block(Surv(time, status) ~ factor(ph.ecog) + strata(sex), lung_m)
  )
)

# --- survival::mgus2: Fine-Gray (progression, death competing), tied times -----------------
m <- mgus2
m$etime <- with(m, ifelse(pstat == 0, futime, ptime))
m$cause <- with(m, ifelse(pstat == 0, 2 * death, 1))
m <- na.omit(m[, c("etime", "cause", "age", "sex", "mspike")])
m$male <- as.integer(m$sex == "M")
m <- m[, c("etime", "cause", "age", "male", "mspike")]
write.csv(m, "mgus2_models.csv", row.names = FALSE)
mgus_out <- list(crr = crr_block(crr(m$etime, m$cause, as.matrix(m[, c("age", "male", "mspike")]),
                                     failcode = 1, cencode = 0)))

# --- the sample at 2024-03-31 ---------------------------------------------------------------
s <- read.csv("sample_models.csv", stringsAsFactors = FALSE, na.strings = "")
refs <- c(AGEGR1 = "<10", DISSTAT = "relapsed", PRHSCTFL = "N", bm_blasts_ge50 = "No", SEX = "F")
fac <- function(d, v) relevel(factor(d[[v]]), ref = refs[[v]])
design <- function(d) {
  data.frame(time = d$time, cause = d$cause,
             AGEGR1 = fac(d, "AGEGR1"), DISSTAT = fac(d, "DISSTAT"),
             PRHSCTFL = fac(d, "PRHSCTFL"), bm_blasts_ge50 = fac(d, "bm_blasts_ge50"),
             CD19PCT = d$CD19PCT)
}
terms_of <- function(x) {
  # (covariate, level) of each model column, as the pipeline names them
  out <- list()
  for (v in c("AGEGR1", "DISSTAT", "PRHSCTFL", "bm_blasts_ge50")) {
    for (l in setdiff(levels(x[[v]]), refs[[v]])) out[[length(out) + 1]] <- list(v, l)
  }
  c(out, list(list("CD19PCT", "per unit")))
}
formula <- ~ AGEGR1 + DISSTAT + PRHSCTFL + bm_blasts_ge50 + CD19PCT
sample_out <- list()
for (ep in c("OS", "EFS", "CIR")) {
  x <- design(s[s$endpoint == ep, ])
  fit <- coxph(update(formula, Surv(time, cause == 1) ~ .), data = x, ties = "efron")
  sample_out[[ep]] <- c(cox_block(fit), list(zph = zph_block(fit), terms = terms_of(x), references = unname(refs)))
}
x <- design(s[s$endpoint == "CIR", ])
mm <- model.matrix(formula, x)[, -1]
sample_out$crr <- c(crr_block(crr(x$time, x$cause, mm, failcode = 1, cencode = 0)),
                    list(terms = terms_of(x), references = unname(refs)))
cir <- s[s$endpoint == "CIR", ]
sub <- list()
for (v in c("SEX", "PRHSCTFL", "DISSTAT", "AGEGR1")) {
  f <- fac(cir, v)
  sub[[v]] <- crr_block(crr(cir$time, cir$cause, model.matrix(~ f)[, -1, drop = FALSE], failcode = 1, cencode = 0))
}
sample_out$crr_subgroups <- sub
strat <- list()
for (ep in c("OS", "EFS", "DFS")) {
  d <- s[s$endpoint == ep, ]
  d$event <- as.integer(d$cause == 1)
  strat[[ep]] <- list()
  for (v in c("SEX", "PRHSCTFL", "DISSTAT", "AGEGR1")) {
    strat[[ep]][[v]] <- strat_block(as.formula(paste("Surv(time, event) ~", v, "+ strata(STRATUM)")), d)
  }
}
sample_out$strat <- strat

writeLines(to_json(list(
  r = paste(R.version$major, R.version$minor, sep = "."),
  survival = as.character(packageVersion("survival")), cmprsk = as.character(packageVersion("cmprsk")),
  lung = lung_out, mgus2 = mgus_out, sample = sample_out
)), "models.json")
