# Independent QC of one data cut: the double programming of the key numbers, in R.
#
#   Rscript qc/qc.R --cut-dir DIR --cut YYYY-MM-DD [--drop DROP] [--out FILE] [--param section.key=value ...]
#
# DIR holds the cut's SAS transport files (adsl.xpt, adrs.xpt, adtte.xpt) and the pipeline's
# summary tables. Every number is computed here from the XPT records (and, for OS and EFS of
# every subject and the long-term incidences, from the raw drop's CSV files) with base R, survival and cmprsk; the
# pipeline's CSVs are read only for the value to compare with and for the plan's choices a
# table shows (its landmarks, subgroups and reference levels). Nothing is imported from the
# Python code: the rules are re-read from docs/endpoints.md (version 3). The plan's numbers
# come as --param (safety.prior_a=0.5, efficacy.p0=0.6, labs.bcell_aplasia_below=50, ...): the
# pipeline passes every number of its plan's [stopping.*] and [labs]; from them R computes the
# Simon design itself. Without them (a run by hand) the stopping rules' choices are read from
# the text stopping_rules.csv shows, and the laboratory thresholds from the cut's plan copy.
#
# Writes FILE (default DIR/qc_report.csv): check, endpoint, group, statistic, pipeline, r,
# agrees (yes, no, or "not run" where a part could not run: the raw drop not in CSV), note.
# Exit status: 0 all agree, 3 a disagreement, 2 the QC could not run (1: R itself failed).
suppressMessages({
  library(foreign)
  library(survival)
  library(cmprsk)
})

args <- commandArgs(trailingOnly = TRUE)
opt <- function(name, default = NA_character_) {
  i <- match(paste0("--", name), args)
  if (is.na(i) || i == length(args)) default else args[[i + 1]]
}
stop_qc <- function(...) {
  cat("qc: ", ..., "\n", sep = "", file = stderr())
  quit(status = 2)
}
params <- local({
  given <- args[which(args == "--param") + 1]
  given <- given[!is.na(given) & grepl("=", given, fixed = TRUE)]
  setNames(as.numeric(sub("^[^=]*=", "", given)), sub("=.*$", "", given))
})
param <- function(key) if (key %in% names(params)) params[[key]] else NA_real_
cut_dir <- opt("cut-dir")
cut <- as.Date(opt("cut"))
drop_dir <- opt("drop")
out <- opt("out", file.path(cut_dir, "qc_report.csv"))
if (is.na(cut_dir) || is.na(cut)) stop_qc("usage: qc.R --cut-dir DIR --cut YYYY-MM-DD [--drop DROP] [--out FILE]")

MONTH <- 30.4375
Z <- qnorm(0.975)
REMISSION <- c("CR", "CRi")

# --- reading ----------------------------------------------------------------------------------
xpt <- function(name) {
  path <- file.path(cut_dir, paste0(name, ".xpt"))
  if (!file.exists(path)) stop_qc(path, " not found")
  d <- read.xport(path)
  info <- lookup.xport(path)[[1]]
  for (v in info$name[info$format == "DATE"]) d[[v]] <- as.Date(d[[v]], origin = "1960-01-01")
  for (v in names(d)) if (is.character(d[[v]])) d[[v]][d[[v]] == ""] <- NA
  d
}
pipeline_table <- function(name) {
  path <- file.path(cut_dir, name)
  if (!file.exists(path)) stop_qc(path, " not found")
  # every column as text ("F" would be read as FALSE); numbers are parsed where compared
  read.csv(path, colClasses = "character", na.strings = "", check.names = FALSE)
}
adsl <- xpt("adsl")
adrs <- xpt("adrs")
adtte <- xpt("adtte")

# --- the report ---------------------------------------------------------------------------------
rows <- list()
agree <- function(p, r, tol) {
  if (is.na(p) && is.na(r)) return(TRUE)
  if (is.na(p) || is.na(r)) return(FALSE)
  abs(p - r) <= tol * max(1, abs(r))
}
add <- function(check, endpoint, group, statistic, pipeline, r, tol = 1e-6, note = "", ran = TRUE) {
  pipeline <- suppressWarnings(as.numeric(pipeline))
  r <- suppressWarnings(as.numeric(r))
  if (length(pipeline) == 0) pipeline <- NA_real_
  if (length(r) == 0) r <- NA_real_
  rows[[length(rows) + 1]] <<- data.frame(
    check = check, endpoint = endpoint, group = group, statistic = statistic,
    pipeline = pipeline, r = r, agrees = if (!ran) "not run" else if (agree(pipeline, r, tol)) "yes" else "no",
    note = note,
    stringsAsFactors = FALSE
  )
}
pmin_date <- function(...) {
  x <- do.call(pmin, c(list(...), na.rm = TRUE))
  as.Date(x, origin = "1970-01-01")
}

# --- reading the raw drop, and the last day it shows (used by the response windows below) -----
not_run <- function(message) {
  stop(structure(class = c("qc_not_run", "error", "condition"), list(message = message, call = NULL)))
}
# Unicode's white space beyond R's [ \t\r\n] (polars strips all of it from a cell's ends)
unicode_space <- "[\u000b\u000c\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
raw_csv <- function(name) {
  path <- file.path(drop_dir, paste0(name, ".csv"))
  if (!file.exists(path)) not_run(paste0(name, ".csv not in the drop (the QC reads CSV drops)"))
  # only an empty cell is missing: "NA" can be a subject identifier
  d <- read.csv(path, colClasses = "character", na.strings = "", check.names = FALSE, encoding = "UTF-8")
  # a header as the pipeline matches it (text.header_key): "Subject ID" is subject_id. The
  # pipeline reads Unicode spaces (a no-break space, U+00A0) as spaces, in headers and values
  # alike (NFKC, polars' strip): here too, or the two programs read one drop two ways
  names(d) <- gsub("[[:space:]_-]+", "_", tolower(trimws(gsub(unicode_space, " ", sub("^\ufeff", "", names(d))))))
  for (v in names(d)) {
    x <- trimws(gsub(unicode_space, " ", d[[v]]))
    x[!is.na(x) & x == ""] <- NA  # a cell of spaces alone is blank, as to the pipeline
    d[[v]] <- x
  }
  d
}
# a code as the pipeline matches it (schema.code_key): any letter case, and a run of spaces,
# hyphens or underscores as one underscore ("New therapy" is NEW_THERAPY)
as_code <- function(x) toupper(gsub("[[:space:]_-]+", "_", x))
# a date as the pipeline reads it (parse.typed_value): YYYY-MM-DD, alone or starting a date-time
# (its time not used), DDMONYYYY with or without spaces or hyphens (month names in English), or
# year first with the month and day in one or two digits (2020/6/18)
as_day <- function(x, file, column) {
  parsed <- as.Date(rep(NA_character_, length(x)))
  iso <- !is.na(x) & grepl("^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9].*)?$", x)
  parsed[iso] <- as.Date(substr(x[iso], 1, 10), format = "%Y-%m-%d")
  dmy <- !is.na(x) & grepl("^[0-9]{1,2}[ -]?[A-Za-z]{3}[ -]?[0-9]{4}$", x)
  if (any(dmy)) {
    month <- match(toupper(gsub("^[0-9]+[ -]?([A-Za-z]{3}).*$", "\\1", x[dmy])), toupper(month.abb))
    day <- as.integer(sub("^([0-9]+).*$", "\\1", x[dmy]))
    year <- as.integer(sub("^.*([0-9]{4})$", "\\1", x[dmy]))
    parsed[dmy] <- as.Date(sprintf("%04d-%02d-%02d", year, month, day), format = "%Y-%m-%d")
  }
  # year first, the month and day in one or two digits (a Chinese-locale Excel's 2020/6/18 9:05)
  ymd <- !is.na(x) & !iso & !dmy &
    grepl("^[0-9]{4}(/[0-9]{1,2}/[0-9]{1,2}|-[0-9]{1,2}-[0-9]{1,2})( ([01]?[0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?)?$", x)
  if (any(ymd)) {
    parts <- regmatches(x[ymd], regexec("^([0-9]{4})[/-]([0-9]{1,2})[/-]([0-9]{1,2})", x[ymd]))
    parsed[ymd] <- as.Date(vapply(parts, function(p) sprintf("%s-%02d-%02d", p[2], as.integer(p[3]), as.integer(p[4])),
      character(1)), format = "%Y-%m-%d")
  }
  bad <- !is.na(x) & is.na(parsed)
  if (any(bad)) not_run(sprintf("%s.csv column %s holds %s, not YYYY-MM-DD", file, column, x[bad][1]))
  parsed
}
# the last day the drop can show (endpoints.md, Interim analyses): the cut, or, for a planned cut
# later than the drop's latest record and no drop_info.toml extracted_on, that record's date; a
# window (the safety rule's 30 days, the efficacy rule's day 42) closes by it. Found here from a
# CSV drop (every column whose name ends in "date", dates up to today), else as the pipeline
# gives it (--seen-to), and the two compared
given_seen_to <- as.Date(opt("seen-to", as.character(cut)))
drop_seen_to <- function() {
  if (is.na(drop_dir) || !dir.exists(drop_dir)) return(NA)
  info <- file.path(drop_dir, "drop_info.toml")
  # the key bare or quoted ("extracted_on" = ...), as TOML allows
  key <- "^(\ufeff)?[[:space:]]*[\"']?extracted_on[\"']?[[:space:]]*="
  if (file.exists(info) && any(grepl(key, readLines(info, warn = FALSE, encoding = "UTF-8")))) {
    return(cut)
  }
  latest <- drop_latest()
  if (is.na(latest)) NA else min(cut, latest)
}
# the latest date of any record of the drop (NA when the drop cannot be read)
drop_latest <- function() {
  if (is.na(drop_dir) || !dir.exists(drop_dir)) return(NA)
  # the data contract's dates (docs/data-contract.md): a column outside it, an EDC's audit
  # last_modified_date, is not read by the pipeline and moves nothing
  contract_dates <- list(
    enrolment = c("consent_date", "enrol_date", "diagnosis_date"), infusion = c("ld_start_date", "infusion_date"),
    assessments = "assessment_date", followup = "event_date", adverse_events = c("onset_date", "resolution_date"),
    crs_monitoring = "obs_date", icans_monitoring = "obs_date", apheresis = c("apheresis_date", "release_date"),
    labs = "sample_date", long_term_followup = "event_date"
  )
  if (!file.exists(file.path(drop_dir, "enrolment.csv"))) return(NA)
  latest <- NA_real_
  for (name in names(contract_dates)) {
    if (!file.exists(file.path(drop_dir, paste0(name, ".csv")))) next
    d <- tryCatch(raw_csv(name), qc_not_run = function(e) NULL)
    if (is.null(d)) return(NA)
    for (col in intersect(contract_dates[[name]], names(d))) {
      v <- tryCatch(as_day(d[[col]], name, col), qc_not_run = function(e) NULL)
      if (is.null(v)) return(NA)
      v <- v[!is.na(v) & v <= Sys.Date()]
      if (length(v)) latest <- max(latest, as.numeric(max(v)), na.rm = TRUE)
    }
  }
  if (is.na(latest)) NA else as.Date(latest, origin = "1970-01-01")
}
seen_to <- drop_seen_to()
if (is.na(seen_to)) {
  seen_to <- given_seen_to
} else {
  add("raw drop", "latest record", "drop", "last day the drop shows, windows closed by it (days since 1970)",
    as.numeric(given_seen_to), as.numeric(seen_to), 0,
    note = paste("R:", format(seen_to), "pipeline:", format(given_seen_to)))
}

# --- response (endpoints.md, Response) ------------------------------------------------------------
# every enrolled subject: the efficacy set's rates and, for intention to treat, all enrolled
# (a subject never infused is a non-responder; one awaiting infusion at the cut is pending,
# not one whose product the apheresis file reports FAILED)
subj <- adsl
infused <- !is.na(subj$TRTSDT)
therapy_end <- pmin_date(subj$HSCTDT, subj$NTHERDT)
ovr <- adrs[adrs$PARAMCD == "OVRLRESP", ]
k <- match(ovr$USUBJID, subj$USUBJID)
ovr <- ovr[!is.na(k), ]
k <- k[!is.na(k)]
ovr$day <- as.numeric(ovr$ADT - subj$TRTSDT[k])
ovr$attributable <- is.na(therapy_end[k]) | ovr$ADT < therapy_end[k]
ovr$remission <- ovr$AVALC %in% REMISSION &
  (subj$STRATUM[k] != "mrd_persistent" | (!is.na(ovr$MRDPCT) & ovr$MRDPCT < 0.01))
# a best response, and a remission ORR3M counts, is one before the subject's first relapse
relapses <- ovr[ovr$AVALC %in% "RELAPSE", ]
relapses <- relapses[order(relapses$ADT), ]
first_relapse <- relapses$ADT[match(ovr$USUBJID, relapses$USUBJID)]
ovr$before_relapse <- is.na(first_relapse) | ovr$ADT <= first_relapse
awaiting_infusion <- !infused & is.na(subj$DTHDT) & is.na(subj$WDDT) & is.na(subj$LOSTDT) &
  !(subj$PRODSTAT %in% "FAILED")  # a manufacturing failure the apheresis file alone reports
# the apheresis file's reason not infused has no date: a cut on or after the drop's latest
# record knows it (the subject is not awaiting infusion), an earlier one cannot
# (a drop R cannot read, XLSX or Parquet: the latest date the pipeline gives, and ADSL's
# APHNINF, which holds the file's reason at such a cut)
latest_in_drop <- drop_latest()
if (is.na(latest_in_drop)) latest_in_drop <- as.Date(opt("latest-record", NA))
if (!is.na(latest_in_drop) && latest_in_drop <= cut) {
  aph_raw <- if (!is.na(drop_dir) && file.exists(file.path(drop_dir, "apheresis.csv"))) {
    tryCatch(raw_csv("apheresis"), qc_not_run = function(e) NULL)
  } else NULL
  stated <- if (!is.null(aph_raw) && "not_infused_reason" %in% names(aph_raw)) {
    aph_raw$subject_id[!is.na(aph_raw$not_infused_reason)]
  } else if ("APHNINF" %in% names(subj)) {
    subj$USUBJID[!is.na(subj$APHNINF) & subj$APHNINF != ""]
  } else character(0)
  awaiting_infusion <- awaiting_infusion & !(subj$USUBJID %in% stated)
}
# a window closes on its last day, or at death or the first HSCT or new therapy: not at a
# withdrawal or loss to follow-up, which an assessment can follow
close_by <- function(last_day) {
  pmin_date(subj$TRTSDT + last_day, subj$DTHDT, therapy_end)
}
# open at the last day the drop shows (the cut, or an earlier latest record of a stale drop)
open_at_cut <- function(last_day) ifelse(infused, close_by(last_day) > seen_to, awaiting_infusion)
by_subject <- function(flag) infused & subj$USUBJID %in% ovr$USUBJID[flag]

# CR/CRi by day 28: an attributable remission on day 21-42; pending while the window is open
responder_28 <- by_subject(ovr$attributable & ovr$before_relapse & ovr$remission & ovr$day >= 21 & ovr$day <= 42)
pending_28 <- open_at_cut(42)

# ORR3M: an attributable remission on day 0-91 with nothing ending it in the 28 days after it
cut_day <- as.numeric(seen_to - subj$TRTSDT)
orr3m <- logical(nrow(subj))
awaiting <- logical(nrow(subj))
for (i in which(infused)) {
  a <- ovr[ovr$USUBJID == subj$USUBJID[i], ]
  candidates <- a$day[a$attributable & a$before_relapse & a$remission & a$day >= 0 & a$day <= 91]
  # for an MRD-persistent entrant (remission = MRD conversion) a measured positive MRD ends it too
  mrd_back <- subj$STRATUM[i] == "mrd_persistent" & a$attributable & !is.na(a$MRDPCT) & a$MRDPCT >= 0.01
  ends <- a$day[a$AVALC %in% "RELAPSE" | (a$attributable & a$AVALC %in% c("PR", "NR", "RELAPSE")) | mrd_back]
  death_day <- as.numeric(subj$DTHDT[i] - subj$TRTSDT[i])
  # a withdrawal or loss before the 28 days end, with no assessment after them, leaves them unseen
  left_day <- suppressWarnings(as.numeric(min(subj$WDDT[i], subj$LOSTDT[i], na.rm = TRUE) - subj$TRTSDT[i]))
  last_day <- if (nrow(a)) max(a$day) else -1
  for (d in candidates) {
    broken <- any(ends > d & ends <= d + 28) || (!is.na(death_day) && death_day >= d && death_day <= d + 28)
    unseen <- is.finite(left_day) && left_day < d + 28 && last_day < d + 28
    if (broken) next
    if (d + 28 > cut_day[i]) awaiting[i] <- TRUE else if (!unseen) orr3m[i] <- TRUE
  }
}
pending_orr3m <- !orr3m & (awaiting | open_at_cut(91))

response <- pipeline_table("response_summary.csv")
populations <- list(
  "EFFFL, not pending" = subj$EFFFL %in% "Y",
  "ENRLFL (intention to treat), not pending" = rep(TRUE, nrow(subj))
)
rate_rows <- list(
  list(parameter = "CR/CRi by day 28", responder = responder_28, pending = pending_28),
  list(parameter = "ORR3M: CR/CRi within 3 months, maintained 28 days", responder = orr3m, pending = pending_orr3m)
)
for (rr in rate_rows) {
  mine <- response[response$parameter == rr$parameter, ]
  for (j in seq_len(nrow(mine))) {
    row <- mine[j, ]
    in_population <- populations[[row$population]]
    if (is.null(in_population)) {
      add("response", rr$parameter, row$population, "population known to the QC", 1, 0, 0)
      next
    }
    member <- in_population & (if (row$group_var == "all") TRUE else {
      v <- as.character(subj[[row$group_var]])
      !is.na(v) & v == row$group
    })
    evaluable <- member & !rr$pending
    n <- sum(evaluable)
    x <- sum(rr$responder & evaluable)
    ci <- if (n > 0) binom.test(x, n)$conf.int else c(NA, NA)
    label <- paste0(if (row$population == "EFFFL, not pending") "" else "ITT ", row$group_var, "=", row$group)
    add("response", rr$parameter, label, "n evaluable", row$n, n, 0)
    add("response", rr$parameter, label, "responders", row$responders, x, 0)
    add("response", rr$parameter, label, "rate", row$rate, if (n > 0) x / n else NA)
    add("response", rr$parameter, label, "rate 95% CI lower (exact)", row$rate_lcl, ci[1], 1e-6)
    add("response", rr$parameter, label, "rate 95% CI upper (exact)", row$rate_ucl, ci[2], 1e-6)
  }
}

# --- time to event (endpoints.md, Estimation) -----------------------------------------------------
survival_summary <- pipeline_table("survival_summary.csv")
survival_details <- pipeline_table("survival_details.csv")
landmarks <- as.integer(sub("^rate_([0-9]+)m$", "\\1", grep("^rate_[0-9]+m$", names(survival_summary), value = TRUE)))
primary <- function(endpoint) adtte[adtte$PARAMCD == endpoint & adtte$ANALYSIS == "primary", ]
summary_row <- function(endpoint) {
  s <- survival_summary[survival_summary$endpoint == endpoint & survival_summary$analysis == "primary" &
    survival_summary$group_var == "all", ]
  if (nrow(s) == 1) s else NULL
}

# endpoints.md (Median): R's tolerance, sqrt(machine eps), applies before "not reached".
# survival:::findq returns NA when max(1 - S) < 0.5 before it looks at its tolerance, so a curve
# whose product is exactly 1/2 but is computed 0.5000000000000001 (a red team's 25-subject drop,
# seed 5: 18/21 x 17/18 x ... x 7/8 = 1/2 on day 504, then censored to day 1107) had no median in
# R and the midpoint (805.5) in the pipeline, and the run exited 5. A curve (or CI curve) within
# the tolerance of 0.5 is 0.5 here; quantile() then applies its own rule (2026-12-07).
at_half <- function(fit) {
  for (k in c("surv", "lower", "upper")) {
    v <- fit[[k]]
    fit[[k]] <- ifelse(!is.na(v) & abs(v - 0.5) < sqrt(.Machine$double.eps), 0.5, v)
  }
  fit
}

for (endpoint in c("OS", "EFS", "DFS")) {
  d <- primary(endpoint)
  s <- summary_row(endpoint)
  if (is.null(s) || nrow(d) == 0) next
  fit <- survfit(Surv(AVAL, CNSR == 0) ~ 1, data = d, conf.type = "log-log")
  q <- quantile(at_half(fit), probs = 0.5, conf.int = TRUE)
  add("kaplan-meier", endpoint, "all", "median (days)", s$median_days, unname(q$quantile), 0)
  add("kaplan-meier", endpoint, "all", "median 95% CI lower", s$median_lcl_days, unname(q$lower), 0)
  add("kaplan-meier", endpoint, "all", "median 95% CI upper", s$median_ucl_days, unname(q$upper), 0)
  # the number still followed at the median (a cut published before 2026-12-07 has no column)
  if ("median_nrisk" %in% names(survival_details)) {
    sd <- survival_details[survival_details$endpoint == endpoint & survival_details$analysis == "primary" &
      survival_details$group_var == "all", ]
    med <- unname(q$quantile)
    add("kaplan-meier", endpoint, "all", "number at risk at the median", sd$median_nrisk,
      if (is.na(med)) NA else summary(fit, times = med)$n.risk, 0)
  }
  for (m in landmarks) {
    at <- m * MONTH
    if (at > max(d$AVAL)) {
      # past the last time: empty, except 0 where the curve reached 0 (known)
      est <- if (min(fit$surv) == 0) 0 else NA
      lower <- upper <- NA
    } else {
      sm <- summary(fit, times = at)
      est <- sm$surv
      lower <- sm$lower
      upper <- sm$upper
    }
    stem <- paste0("rate_", m, "m")
    add("kaplan-meier", endpoint, "all", paste0(m, "-month rate"), s[[stem]], est)
    add("kaplan-meier", endpoint, "all", paste0(m, "-month rate 95% CI lower (log-log)"), s[[paste0(stem, "_lcl")]], lower, 1e-4)
    add("kaplan-meier", endpoint, "all", paste0(m, "-month rate 95% CI upper (log-log)"), s[[paste0(stem, "_ucl")]], upper, 1e-4)
  }
}

# the log-rank test of each subgroup, as each Kaplan-Meier figure and table prints it: survdiff
# over the subjects with a value (one level: no test on either side; where survdiff stops
# otherwise, its message is said and the test not compared)
for (endpoint in c("OS", "EFS", "DFS", "DOR")) {
  d <- primary(endpoint)
  tests <- survival_summary[survival_summary$endpoint == endpoint & survival_summary$analysis == "primary" &
    survival_summary$group_var != "all", ]
  for (v in unique(tests$group_var)) {
    mine <- tests[tests$group_var == v, ][1, ]
    if (!(v %in% names(d))) {
      add("log-rank", endpoint, v, "chi-square", mine$logrank_chisq, NA, ran = FALSE, note = paste(v, "is not in adtte.xpt"))
      next
    }
    x <- d[!is.na(d[[v]]), ]
    x$g <- x[[v]]
    if (length(unique(x$g)) < 2) {
      # one level among the subjects with a value: there is no test, and the pipeline leaves
      # it empty (survdiff stops with "There is only 1 group"; this was once called a singular
      # variance and not compared)
      add("log-rank", endpoint, v, "chi-square", mine$logrank_chisq, NA, note = "one level: no test")
      add("log-rank", endpoint, v, "p", mine$logrank_p, NA, note = "one level: no test")
      next
    }
    stopped <- ""
    fit <- tryCatch(survdiff(Surv(AVAL, CNSR == 0) ~ g, data = x), error = function(e) {
      stopped <<- conditionMessage(e)
      NULL
    })
    if (is.null(fit)) {
      add("log-rank", endpoint, v, "chi-square", mine$logrank_chisq, NA, ran = FALSE,
        note = paste0("survdiff stopped (", trimws(stopped), "): the pipeline's generalized-inverse test is not re-derived"))
      next
    }
    df <- sum(fit$exp > 0) - 1
    add("log-rank", endpoint, v, "chi-square", mine$logrank_chisq, if (df >= 1) fit$chisq else NA)
    add("log-rank", endpoint, v, "p", mine$logrank_p, if (df >= 1) pchisq(fit$chisq, df, lower.tail = FALSE) else NA)
  }
}

for (endpoint in c("CIR", "NRM")) {
  d <- primary(endpoint)
  s <- summary_row(endpoint)
  if (is.null(s) || nrow(d) == 0) next
  fit <- tryCatch(cuminc(d$AVAL, d$EVNTTYPE, cencode = 0), error = function(e) NULL)
  # past the last time the incidence is known only when everyone still at risk then had an
  # event (of either type) at it: it is final (endpoints.md, Estimation: landmark rates)
  last <- max(d$AVAL)
  final <- sum(d$AVAL == last & d$EVNTTYPE %in% c(1, 2)) == sum(d$AVAL >= last)
  for (m in landmarks) {
    at <- m * MONTH
    if (at > last && final) at <- last
    est <- var <- NA
    if (!any(d$EVNTTYPE == 1)) {
      est <- if (at <= last) 0 else NA
    } else if (!is.null(fit) && at <= last) {
      tp <- timepoints(fit, at)
      est <- tp$est["1 1", 1]
      var <- tp$var["1 1", 1]
    }
    lower <- upper <- NA
    if (!is.na(est) && !is.na(var) && est > 0 && est < 1) {
      se <- sqrt(var) / (est * abs(log(est)))
      lower <- exp(-exp(log(-log(est)) + Z * se))
      upper <- exp(-exp(log(-log(est)) - Z * se))
    }
    stem <- paste0("rate_", m, "m")
    add("cumulative incidence", endpoint, "all", paste0(m, "-month incidence"), s[[stem]], est)
    if (!is.na(lower)) {
      add("cumulative incidence", endpoint, "all", paste0(m, "-month 95% CI lower (log-log)"), s[[paste0(stem, "_lcl")]], lower, 1e-4)
      add("cumulative incidence", endpoint, "all", paste0(m, "-month 95% CI upper (log-log)"), s[[paste0(stem, "_ucl")]], upper, 1e-4)
    }
  }
}

# --- subgroup Cox hazard ratios (Efron ties, Wald CI; a level without events leaves the model) ----
cox <- pipeline_table("cox_summary.csv")
cox <- cox[cox$analysis == "primary" & cox$endpoint %in% c("OS", "EFS", "DFS", "DOR"), ]
for (key in unique(paste(cox$endpoint, cox$group_var, sep = "\t"))) {
  part <- strsplit(key, "\t")[[1]]
  mine <- cox[cox$endpoint == part[1] & cox$group_var == part[2], ]
  d <- primary(part[1])
  g <- as.character(d[[part[2]]])
  keep <- !is.na(g)
  d <- d[keep, ]
  g <- g[keep]
  reference <- as.character(mine$reference[1])
  events <- tapply(d$CNSR == 0, g, sum)
  usable <- names(events)[events > 0]
  estimates <- list()
  if (reference %in% usable && length(usable) > 1) {
    use <- g %in% usable
    x <- relevel(factor(g[use]), ref = reference)
    fit <- tryCatch(coxph(Surv(d$AVAL[use], d$CNSR[use] == 0) ~ x, ties = "efron"), error = function(e) NULL)
    # a coefficient that runs off (|log HR| > 15) or an infinite standard error: the
    # likelihood is monotone and the model is not estimable, every level empty
    # (endpoints.md, Estimation: Cox)
    if (!is.null(fit) && (any(!is.finite(sqrt(diag(fit$var)))) || any(abs(coef(fit)) > 15, na.rm = TRUE))) {
      fit <- NULL
    }
    if (!is.null(fit)) {
      b <- coef(fit)
      se <- sqrt(diag(fit$var))
      for (lv in setdiff(levels(x), reference)) {
        j <- match(paste0("x", lv), names(b))
        if (!is.na(b[j]) && is.finite(se[j]) && se[j] > 0) {
          estimates[[lv]] <- c(exp(b[j]), exp(b[j] - Z * se[j]), exp(b[j] + Z * se[j]), 2 * pnorm(-abs(b[j] / se[j])))
        }
      }
    }
  }
  for (j in seq_len(nrow(mine))) {
    lv <- as.character(mine$group[j])
    e <- if (is.null(estimates[[lv]])) rep(NA, 4) else estimates[[lv]]
    label <- paste0(part[2], "=", lv, " vs ", reference)
    add("cox", part[1], label, "hazard ratio", mine$hr[j], e[1])
    add("cox", part[1], label, "hazard ratio 95% CI lower", mine$hr_lcl[j], e[2], 1e-4)
    add("cox", part[1], label, "hazard ratio 95% CI upper", mine$hr_ucl[j], e[3], 1e-4)
    add("cox", part[1], label, "Wald p", mine$p[j], e[4], 1e-4)
  }
}

# --- OS and EFS of every subject from the raw drop ----------------------------------------------
raw_endpoints <- function() {
  enrol <- raw_csv("enrolment")
  enrol$enrol_date <- as_day(enrol$enrol_date, "enrolment", "enrol_date")
  enrol <- enrol[enrol$enrol_date <= cut, ]
  ids <- enrol$subject_id
  inf <- raw_csv("infusion")
  inf$infusion_date <- as_day(inf$infusion_date, "infusion", "infusion_date")
  inf <- inf[inf$infusion_date <= cut & inf$subject_id %in% ids, ]
  asm <- raw_csv("assessments")
  asm$assessment_date <- as_day(asm$assessment_date, "assessments", "assessment_date")
  asm <- asm[asm$assessment_date <= cut & asm$subject_id %in% ids, ]
  asm$response <- toupper(asm$response)
  asm$response[asm$response == "CRI"] <- "CRi"
  fu <- raw_csv("followup")
  fu$event_date <- as_day(fu$event_date, "followup", "event_date")
  fu <- fu[fu$event_date <= cut & fu$subject_id %in% ids, ]
  fu$event <- as_code(fu$event)
  ae <- raw_csv("adverse_events")
  ae$onset_date <- as_day(ae$onset_date, "adverse_events", "onset_date")
  ae$resolution_date <- as_day(ae$resolution_date, "adverse_events", "resolution_date")
  ae <- ae[ae$onset_date <= cut & ae$subject_id %in% ids, ]
  ae$resolution_date[!is.na(ae$resolution_date) & ae$resolution_date > cut] <- NA

  first_date <- function(frame, column, who) {
    if (nrow(frame) == 0) return(as.Date(NA))
    x <- frame[[column]][frame$subject_id == who]
    if (length(x) == 0 || all(is.na(x))) as.Date(NA) else min(x, na.rm = TRUE)
  }
  infused <- unique(inf$subject_id)
  out <- list()
  for (who in infused) {
    day0 <- min(inf$infusion_date[inf$subject_id == who])
    death <- first_date(fu[fu$event == "DEATH", ], "event_date", who)
    alive <- c(
      enrol$enrol_date[enrol$subject_id == who], inf$infusion_date[inf$subject_id == who],
      asm$assessment_date[asm$subject_id == who],
      fu$event_date[fu$subject_id == who & fu$event %in% c("CONTACT", "HSCT", "NEW_THERAPY")],
      ae$onset_date[ae$subject_id == who], ae$resolution_date[ae$subject_id == who]
    )
    alive <- alive[!is.na(alive)]
    if (!is.na(death)) alive <- alive[alive <= death]
    last_alive <- max(alive)
    os <- c(as.numeric(if (is.na(death)) last_alive - day0 else death - day0), if (is.na(death)) 1 else 0)

    status <- tolower(as_code(enrol$disease_status[enrol$subject_id == who]))
    stratum <- if (identical(status, "mrd_persistent")) "mrd_persistent" else "morphologic"
    therapy <- pmin_date(
      first_date(fu[fu$event == "HSCT", ], "event_date", who),
      first_date(fu[fu$event == "NEW_THERAPY", ], "event_date", who)
    )
    a <- asm[asm$subject_id == who, ]
    day <- as.numeric(a$assessment_date - day0)
    mrd <- suppressWarnings(as.numeric(sub("[[:space:]]*%$", "", a$mrd_pct)))  # "0.005%" as the pipeline reads it
    attributable <- is.na(therapy) | a$assessment_date < therapy
    remission <- a$response %in% REMISSION & (stratum != "mrd_persistent" | (!is.na(mrd) & mrd < 0.01))
    responded <- any(attributable & remission & day <= 42)
    closes <- pmin_date(day0 + 42, death, therapy)
    failed <- !responded && closes <= seen_to && nrow(a) > 0
    first_remission <- if (any(attributable & remission)) min(a$assessment_date[attributable & remission]) else as.Date(NA)
    # a relapse ends EFS: after the first remission, or for an MRD-persistent entrant (in
    # morphologic remission from entry) any relapse after day 0, converted or not
    relapse <- as.Date(NA)
    since <- if (stratum == "mrd_persistent") day0 else first_remission
    if (!is.na(since)) {
      later <- a$assessment_date[a$response == "RELAPSE" & a$assessment_date > since]
      if (length(later)) relapse <- min(later)
    }
    ended <- pmin_date(relapse, death)
    efs <- if (failed) {
      c(1, 0)
    } else if (!is.na(ended)) {
      c(as.numeric(ended - day0), 0)
    } else {
      c(if (nrow(a)) as.numeric(max(a$assessment_date) - day0) else 0, 1)
    }
    out[[who]] <- c(os, efs)
  }
  out
}
# a drop the QC cannot read (not CSV, dates in another form) is "not run"; any other error
# in this part is the QC failing, never a silent skip
raw <- if (is.na(drop_dir)) "no drop given, or not the one the cut was published from (its files checked against the manifest)" else tryCatch(
  raw_endpoints(),
  qc_not_run = function(e) conditionMessage(e),
  error = function(e) stop_qc("the raw-drop part failed: ", conditionMessage(e))
)
for (endpoint in c("OS", "EFS")) {
  d <- primary(endpoint)
  if (is.character(raw)) {
    add("raw drop", endpoint, "every subject", "subjects whose time or event differ", NA, NA,
      note = paste(endpoint, "of every subject from the raw drop not run:", raw), ran = FALSE)
    next
  }
  offset <- if (endpoint == "OS") 0 else 2
  differ <- character(0)
  for (i in seq_len(nrow(d))) {
    mine <- raw[[d$USUBJID[i]]]
    if (is.null(mine) || mine[offset + 1] != d$AVAL[i] || mine[offset + 2] != d$CNSR[i]) differ <- c(differ, d$USUBJID[i])
  }
  missing <- setdiff(names(raw), d$USUBJID)
  add("raw drop", endpoint, "every subject", "subjects in ADTTE", nrow(d), length(raw), 0,
    note = if (length(missing)) paste("infused in the drop, not in ADTTE:", paste(head(missing, 5), collapse = " ")) else "")
  add("raw drop", endpoint, "every subject", "subjects whose time or event differ", 0, length(differ), 0,
    note = if (length(differ)) paste("e.g.", paste(head(differ, 5), collapse = " ")) else "")
}

# --- laboratory, kinetics and long-term safety (endpoints.md, Laboratory toxicity, Cellular
# kinetics, Long-term safety): from ADLB and ADPC, and the raw long-term file ------------------
plan_number <- function(key, default) {
  if (!is.na(param(paste0("labs.", key)))) return(param(paste0("labs.", key)))
  path <- file.path(cut_dir, "analysis_plan.toml")
  if (!file.exists(path)) return(default)
  line <- grep(paste0("^\\s*", key, "\\s*="), readLines(path, warn = FALSE), value = TRUE)
  if (!length(line)) return(default)
  as.numeric(sub("#.*$", "", sub("^[^=]*=", "", line[1])))
}
if (file.exists(file.path(cut_dir, "adlb.xpt"))) {
  adlb <- xpt("adlb")
  below <- plan_number("bcell_aplasia_below", 50)
  b <- adlb[adlb$PARAMCD == "BCELL" & adlb$ONTRTFL == "Y", ]
  b <- b[order(b$USUBJID, b$ADY), ]
  per <- lapply(split(b, b$USUBJID), function(v) {
    first <- which(v$AVAL < below)[1]
    if (is.na(first)) return(NULL)
    back <- which(v$AVAL >= below & seq_len(nrow(v)) > first)[1]
    c(if (is.na(back)) v$ADY[nrow(v)] else v$ADY[back], if (is.na(back)) 0 else 1)
  })
  per <- do.call(rbind, per[!vapply(per, is.null, logical(1))])
  times <- if (is.null(per)) c() else per[, 1]
  events <- if (is.null(per)) c() else per[, 2]
  curve <- pipeline_table("bcell_curve.csv")
  add("B-cell aplasia", "BCELL", "all", "subjects with aplasia", if (nrow(curve)) curve$n_risk[1] else 0, length(times), 0)
  add("B-cell aplasia", "BCELL", "all", "recoveries", sum(as.numeric(curve$n_event)), sum(events), 0)
  if (length(times)) {
    fit <- survfit(Surv(times, events) ~ 1, conf.type = "log-log")
    mine <- summary(fit, times = as.numeric(curve$time_days))$surv
    add("B-cell aplasia", "BCELL", "all", "largest difference of the Kaplan-Meier estimate",
      0, max(abs(mine - as.numeric(curve$estimate))), 1e-9)
  }
  adpc <- xpt("adpc")
  k <- pipeline_table("kinetics.csv")
  differ <- character(0)
  # the first product's samples: from day 0, before the first HSCT or new therapy (ATTRENDT)
  # or a re-infusion (TR02SDT), whichever is first
  # an infusion within 7 days of the first is a split dose's fraction, not a re-infusion
  own_end <- adsl$ATTRENDT
  if ("TR02SDT" %in% names(adsl)) {
    again <- adsl$TR02SDT
    again[!is.na(again) & as.numeric(again - adsl$TRTSDT) <= 7] <- NA
    own_end <- pmin(own_end, again, na.rm = TRUE)
  }
  adpc$END <- own_end[match(adpc$USUBJID, adsl$USUBJID)]
  own <- adpc[!is.na(adpc$ADY) & adpc$ADY >= 0 & (is.na(adpc$END) | adpc$ADT < adpc$END), ]
  early <- own[own$ADY <= 28, ]
  by_subject <- split(early, early$USUBJID)
  at <- match(k$USUBJID, adsl$USUBJID)
  k_open <- !is.na(at) & is.na(adsl$DTHDT[at]) & is.na(own_end[at]) & as.numeric(seen_to - adsl$TRTSDT[at]) < 28
  k_auc <- as.numeric(k$auc_0_28)
  k_cmax <- as.numeric(k$cmax)
  k_none <- if ("no_expansion" %in% names(k)) as.logical(k$no_expansion) else rep(NA, nrow(k))
  own_n <- table(own$USUBJID)
  not_expanded <- character(0)
  for (i in seq_len(nrow(k))) {
    who <- k$USUBJID[i]
    v <- by_subject[[who]]
    if (is.null(v)) v <- early[0, ]
    v <- v[order(v$ADY), ]
    y <- ifelse(v$BLQFL %in% "Y", 0, v$AVAL)  # empty: below_lloq not collected, quantified
    auc <- if (nrow(v) >= 2) sum(diff(v$ADY) * (head(y, -1) + tail(y, -1)) / 2) else NA
    cmax <- if (length(y) && max(y) > 0) max(y) else NA
    # day 28 after the cut (the window open), or the first product's end by day 28 (the
    # window not its whole): no Cmax or AUC (endpoints.md, Cellular kinetics)
    cut_short <- !is.na(at[i]) && !is.na(own_end[at[i]]) && as.numeric(own_end[at[i]] - adsl$TRTSDT[at[i]]) <= 28
    # a withdrawal or a loss to follow-up before day 28: the window is not seen whole
    left <- if (is.na(at[i])) NA else suppressWarnings(min(adsl$WDDT[at[i]], adsl$LOSTDT[at[i]], na.rm = TRUE))
    if (!is.na(left) && is.finite(left) && as.numeric(left - adsl$TRTSDT[at[i]]) < 28) cut_short <- TRUE
    # no measurable expansion: days 0-28 seen whole with samples in them, none quantifiable
    none <- if (length(y)) max(y) == 0 else FALSE
    if (k_open[i] || cut_short || is.na(own_n[who])) none <- NA
    if (k_open[i] || cut_short) {
      auc <- NA
      cmax <- NA
    }
    if (!agree(k_auc[i], auc, 1e-9) || !agree(k_cmax[i], cmax, 1e-9)) differ <- c(differ, who)
    if (!identical(k_none[i], none)) not_expanded <- c(not_expanded, who)
  }
  add("kinetics", "CAR_TRANSGENE", "every subject", "subjects whose Cmax or AUC0-28d differ", 0, length(differ), 0,
    note = if (length(differ)) paste("e.g.", paste(head(differ, 5), collapse = " ")) else "")
  add("kinetics", "CAR_TRANSGENE", "every subject", "subjects whose no-expansion flag differs", 0,
    length(not_expanded), 0,
    note = if (length(not_expanded)) paste("e.g.", paste(head(not_expanded, 5), collapse = " ")) else "")
  quantified <- own[!(own$BLQFL %in% "Y") & own$AVAL > 0, ]
  tlast <- tapply(quantified$ADY, quantified$USUBJID, max)
  mine <- as.numeric(tlast[k$USUBJID])
  moved <- k$USUBJID[!mapply(agree, as.numeric(k$tlast_day), mine, MoreArgs = list(tol = 0))]
  add("kinetics", "CAR_TRANSGENE", "every subject", "subjects whose last quantifiable day differs", 0,
    length(moved), 0, note = if (length(moved)) paste("e.g.", paste(head(moved, 5), collapse = " ")) else "")
  # each subject's day-28 response group, from the CR/CRi by day 28 derived above; a subject
  # outside the efficacy set (withdrawn before any assessment) is not evaluable for response,
  # not a non-responder (endpoints.md, Cellular kinetics: 2026-12-07)
  at_subj <- match(k$USUBJID, subj$USUBJID)
  group_r <- ifelse(!(subj$EFFFL[at_subj] %in% "Y"), "Not evaluable for response",
    ifelse(pending_28[at_subj], "Pending",
      ifelse(responder_28[at_subj], "CR/CRi by day 28", "No CR/CRi by day 28")))
  regrouped <- k$USUBJID[is.na(group_r) | k$response != group_r]
  add("kinetics", "CAR_TRANSGENE", "every subject", "subjects whose day-28 response group differs", 0,
    length(regrouped), 0, note = if (length(regrouped)) paste("e.g.", paste(head(regrouped, 5), collapse = " ")) else "")
  long <- pipeline_table("long_term_safety.csv")
  ltfu <- if (is.na(drop_dir)) NULL else tryCatch(raw_csv("long_term_followup"), qc_not_run = function(e) NULL)
  # a date the QC cannot read is "not run", said below, never an error of the whole QC
  ltfu_why <- if (is.null(ltfu)) NULL else tryCatch({
    ltfu$event_date <- as_day(ltfu$event_date, "long_term_followup", "event_date")
    NULL
  }, qc_not_run = function(e) conditionMessage(e))
  if (!is.na(drop_dir) && file.exists(file.path(drop_dir, "long_term_followup.csv")) && !is.null(ltfu) &&
    is.null(ltfu_why)) {
    ltfu <- ltfu[ltfu$event_date <= cut, ]
    ltfu$event <- as_code(ltfu$event)
    inf <- adsl[!is.na(adsl$TRTSDT), ]
    last_ltfu <- tapply(ltfu$event_date, ltfu$subject_id, max)
    extra <- as.Date(unname(last_ltfu[inf$USUBJID]), origin = "1970-01-01")
    end <- pmin(ifelse(is.na(inf$DTHDT), pmax(inf$LSTALVDT, extra, na.rm = TRUE), inf$DTHDT), cut)
    for (event in c("SECONDARY_MALIGNANCY", "T_CELL_MALIGNANCY", "NEW_AUTOIMMUNE", "NEW_NEUROLOGIC", "NEW_HEMATOLOGIC")) {
      e <- ltfu[ltfu$event == event, ]
      first <- tapply(e$event_date, e$subject_id, min)
      f <- as.Date(unname(first[inf$USUBJID]), origin = "1970-01-01")
      stop_day <- ifelse(is.na(f), end, f)
      years <- sum(pmax(as.numeric(stop_day) - as.numeric(inf$TRTSDT), 0)) / 365.25
      n <- sum(!is.na(f))
      p <- long[long$event == event, ]
      add("long-term safety", event, "infused", "subjects", p$n_subjects, n, 0)
      add("long-term safety", event, "infused", "patient-years", p$patient_years, years, 1e-9)
      if (years > 0) {
        ci <- poisson.test(n, years)$conf.int * 100
        add("long-term safety", event, "infused", "per 100 patient-years", p$rate_per_100py, 100 * n / years, 1e-9)
        add("long-term safety", event, "infused", "lower 95% limit", p$lcl, ci[1], 1e-7)
        add("long-term safety", event, "infused", "upper 95% limit", p$ucl, ci[2], 1e-7)
      }
    }
  } else if (!is.na(drop_dir) && !length(list.files(drop_dir, "^long_term_followup[.](csv|xlsx|parquet)$"))) {
    # never collected is not zero events: without the file the table has no rows
    add("long-term safety", "every event", "infused", "rows without the long_term_followup file", nrow(long), 0, 0)
  } else {
    # a file the QC cannot read (XLSX, Parquet) or no drop: said, never a silent skip
    why <- if (is.na(drop_dir)) "no drop given, or not the one the cut was published from" else if (!is.null(ltfu_why))
      ltfu_why else "the long_term_followup file is not CSV (the QC reads CSV drops)"
    add("long-term safety", "every event", "infused", "incidence from the raw long_term_followup", NA, NA,
      note = paste("long-term safety from the raw drop not run:", why), ran = FALSE)
  }
}

# --- safety: the headline rates and the safety stopping rule (endpoints.md, "Interim analyses")
# The plan's choices (window, prior, threshold, probability, minimum evaluable) are the --param
# numbers; without them, read from the text stopping_rules.csv shows. Every count is made here
# from ADSL and ADAE.
rules <- pipeline_table("stopping_rules.csv")
safety_rule <- rules[rules$rule_id == "safety", ]
number_after <- function(text, pattern) as.numeric(sub(pattern, "\\1", regmatches(text, regexpr(pattern, text))))
given_or <- function(key, from_text) if (is.na(param(key))) from_text else param(key)
# the rule's words: "... death by day 30" (since 2026-12-01; "... death <= day 30" before)
stated_window <- number_after(safety_rule$data, "death by day ([0-9]+)")
if (length(stated_window) == 0) stated_window <- number_after(safety_rule$data, "<= day ([0-9]+)")
if (length(stated_window) == 0 && is.na(param("safety.window_days"))) {
  stop("the safety rule's window (days) is neither given (--param safety.window_days=) nor found in ",
       "stopping_rules.csv's data: ", safety_rule$data)
}
window <- given_or("safety.window_days", stated_window)
prior <- c(param("safety.prior_a"), param("safety.prior_b"))
if (anyNA(prior)) prior <- as.numeric(strsplit(sub(".*prior Beta\\(([^)]*)\\).*", "\\1", safety_rule$boundary), ", ")[[1]])
threshold <- given_or("safety.threshold", number_after(safety_rule$boundary, "P\\(rate > ([0-9.]+) \\| data\\)"))
probability <- given_or("safety.probability", number_after(safety_rule$boundary, "\\| data\\) > ([0-9.]+)"))
min_evaluable <- given_or("safety.min_evaluable", number_after(safety_rule$boundary, "from ([0-9]+) evaluable"))
adae <- xpt("adae")
saf <- adsl[!is.na(adsl$SAFFL) & adsl$SAFFL == "Y", ]
flag <- function(x) !is.na(x) & x == "Y"
at_least <- function(x, g) !is.na(x) & x >= g
# followed through day `days` by the last day the drop shows, not withdrawn or lost to follow-up before it
followed <- function(days) {
  left <- pmin_date(saf$WDDT, saf$LOSTDT)
  saf$TRTSDT + days <= seen_to & (is.na(left) | left >= saf$TRTSDT + days)
}
related_fatal <- unique(adae$USUBJID[at_least(adae$AETOXGR, 5) & flag(adae$AEREL) & flag(adae$TRTEMFL)])
early <- !is.na(saf$DTHDY) & saf$DTHDY <= window
# a death from CRS or ICANS is grade 5 whenever it falls inside the treatment-emergent window
# (from lymphodepletion to the day before the first HSCT or new therapy), and never after it
saf_therapy <- pmin_date(saf$HSCTDT, saf$NTHERDT)
in_window <- !is.na(saf$DTHDT) & saf$DTHDT >= saf$LDSTDT & (is.na(saf_therapy) | saf$DTHDT < saf_therapy)
syndrome_death <- !is.na(saf$DTHCAT) & saf$DTHCAT %in% c("CRS", "ICANS") & in_window
event <- at_least(saf$CRSGRAJ, 4) | at_least(saf$ICANGRAJ, 4) | syndrome_death |
  (early & saf$USUBJID %in% related_fatal)
evaluable <- event | followed(window)
x <- sum(event[evaluable])
n <- sum(evaluable)
posterior <- pbeta(threshold, prior[1] + x, prior[2] + n - x, lower.tail = FALSE)
add("stopping rule", "safety", "evaluable", "P(rate > threshold | data)", safety_rule$statistic, posterior, 1e-9)
add("stopping rule", "safety", "evaluable", "crossed (1 yes, 0 no)", as.numeric(safety_rule$crossed == "true"),
  as.numeric(n >= min_evaluable && posterior > probability), 0)
# Simon's optimal two-stage design (Simon 1989): among (r1/n1, r/n) with type I error <= alpha
# and power >= 1 - beta, the smallest expected size under p0; every n up to 90 is searched, or
# up to the n the pipeline states if larger (a plan's design may need up to its target
# enrolment; R then finds the best design of that size or smaller itself)
# (Table 1: p0 0.05, p1 0.25 -> 0/9, 2/17; p0 0.10, p1 0.30 -> 1/10, 5/29).
simon_optimal <- function(p0, p1, alpha, beta, n_max = 90) {
  best <- NULL
  for (n in 2:n_max) {
    r <- 0:n
    # en >= n1: a first stage as long as the best expected size so far cannot beat it
    for (n1 in 1:(if (is.null(best)) n - 1 else min(n - 1, floor(best$en)))) {
      x1 <- 0:n1
      reject <- lapply(c(p0, p1), function(p) {
        m <- dbinom(x1, n1, p) * pbinom(outer(x1, r, function(x, k) k - x), n - n1, p, lower.tail = FALSE)
        outer(x1, x1, "<") %*% m  # row r1 + 1: P(X1 > r1 and X1 + X2 > r)
      })
      ok <- reject[[1]] <= alpha & reject[[2]] >= 1 - beta & outer(x1, r, "<=")
      for (i in which(rowSums(ok) > 0)) {
        en <- n1 + pbinom(i - 1, n1, p0, lower.tail = FALSE) * (n - n1)
        if (is.null(best) || en < best$en - 1e-12) best <- list(r1 = i - 1, n1 = n1, r = which(ok[i, ])[1] - 1, n = n, en = en)
      }
    }
  }
  best
}
# the Simon efficacy rule: its design computed here from the plan's p0, p1, alpha and beta
# (beside the r1/n1, r/n its boundary states), the count made here.
# Stage 1 is the first n1 of the efficacy set in order of infusion (not the first n1 to become
# evaluable); each counts once its day-42 window closed, responder or not. Crossed when all n1
# are evaluable with r1 or fewer responders, or when it is certain: the responders so far plus
# every one of the n1 still open or not yet infused are r1 or fewer.
simon <- rules[rules$rule_id == "efficacy_futility", ]
stated <- c(
  r1 = number_after(simon$boundary, "if <= ([0-9]+) of the first"),
  n1 = number_after(simon$boundary, "of the first ([0-9]+) respond"),
  r = number_after(simon$boundary, "promising if > ([0-9]+) of"),
  n = number_after(simon$boundary, "promising if > [0-9]+ of ([0-9]+)")
)
design_given <- !anyNA(sapply(c("p0", "p1", "alpha", "beta"), function(k) param(paste0("efficacy.", k))))
if (design_given) {
  n_max <- max(90, if (is.na(stated[["n"]])) 0 else stated[["n"]])
  design <- simon_optimal(
    param("efficacy.p0"), param("efficacy.p1"), param("efficacy.alpha"), param("efficacy.beta"), n_max
  )
  for (k in names(stated)) {
    add("stopping rule", "efficacy_futility", "design", paste("Simon optimal design:", k), stated[[k]], design[[k]], 0)
  }
  r1 <- design$r1
  n1 <- design$n1
} else {
  r1 <- stated[["r1"]]
  n1 <- stated[["n1"]]
}
eff <- adsl[flag(adsl$EFFFL), ]
eff <- eff[order(eff$TRTSDT, eff$USUBJID), ]
stage1 <- head(eff, n1)
closed1 <- !is.na(stage1$D28CLSDT) & stage1$D28CLSDT <= seen_to
k1 <- sum(closed1 & flag(stage1$CRFL))
still <- n1 - sum(closed1)
futile <- (still == 0 && k1 <= r1) || (still > 0 && k1 + still <= r1)
add("stopping rule", "efficacy_futility", "evaluable", "stage-1 responders", simon$statistic, k1, 0)
add("stopping rule", "efficacy_futility", "evaluable", "crossed (1 yes, 0 no)", as.numeric(simon$crossed == "true"),
  as.numeric(futile), 0)
headline <- pipeline_table("safety_summary.csv")
rate_rows <- list(
  list("Grade >= 3 CRS (adjudicated)", at_least(saf$CRSGRAJ, 3), window),
  list("Grade >= 3 ICANS (adjudicated)", at_least(saf$ICANGRAJ, 3), window),
  list("Grade >= 3 CRS (reported)", at_least(saf$CRSGR, 3), window),
  list("Grade >= 3 ICANS (reported)", at_least(saf$ICANGR, 3), window),
  list("Death within 30 days of infusion", flag(saf$DTH30FL), 30),
  list("Death within 100 days of infusion", flag(saf$DTH100FL), 100),
  list("Non-relapse mortality (any time)", flag(saf$NRMFL), NA)
)
for (r in rate_rows) {
  p <- headline[headline$measure == r[[1]], ]
  known <- if (is.na(r[[3]])) rep(TRUE, nrow(saf)) else r[[2]] | followed(r[[3]])
  k <- sum(r[[2]][known])
  m <- sum(known)
  ci <- if (m > 0) binom.test(k, m)$conf.int else c(NA, NA)
  add("safety headline", r[[1]], "known at the cut", "events", p$n_events, k, 0)
  add("safety headline", r[[1]], "known at the cut", "denominator", p$n, m, 0)
  add("safety headline", r[[1]], "known at the cut", "lower 95% limit (Clopper-Pearson)", p$rate_lcl, ci[1], 1e-7)
  add("safety headline", r[[1]], "known at the cut", "upper 95% limit (Clopper-Pearson)", p$rate_ucl, ci[2], 1e-7)
}

report <- do.call(rbind, rows)
write.csv(report, out, row.names = FALSE, na = "")
bad <- sum(report$agrees == "no")
cat(sprintf("qc: %d of %d numbers agree; %d disagree (%s)\n", nrow(report) - bad, nrow(report), bad, out))
quit(status = if (bad > 0) 3 else 0)
