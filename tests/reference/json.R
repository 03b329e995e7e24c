# to_json: R values as JSON (15 significant digits; NA as null), shared by the
# reference scripts (make_reference.R, corpus/make_corpus.R, models/make_models.R).
to_json <- function(v) {
  if (is.null(v)) return("null")
  if (is.list(v)) {
    if (!is.null(names(v)) && all(names(v) != "")) {
      items <- mapply(function(k, x) paste0('"', k, '":', to_json(x)), names(v), v)
      return(paste0("{", paste(items, collapse = ","), "}"))
    }
    return(paste0("[", paste(sapply(v, to_json), collapse = ","), "]"))
  }
  s <- if (is.character(v)) paste0('"', v, '"') else if (is.logical(v))
    ifelse(is.na(v), "null", ifelse(v, "true", "false")) else
    ifelse(is.na(v), "null", formatC(v, digits = 15, format = "g"))
  if (length(v) == 1) s else paste0("[", paste(s, collapse = ","), "]")
}
