"""Which adverse-event terms are CRS and which are ICANS (issue 21, endpoints.md
Adverse events).

An EDC export spells the syndromes many ways: "Cytokine Release Syndrome",
"CRS", "cytokine-release syndrome", "Immune effector cell–associated
neurotoxicity syndrome", "ICANS", older protocols' "CRES". Matching one exact,
case-sensitive spelling once made an export that capitalised the words blind to
every CRS, and the safety stopping rule with it. Here a term is first
normalised (``term_key``: Unicode NFKC, invisible characters removed, Cyrillic
and Greek look-alike letters read as Latin, accents taken off, case folded, every
run of characters that are neither letters nor digits made one space, trimmed)
and then looked up among the MedDRA preferred term, its usual synonyms and
abbreviations below, or, its spaces taken out, among theirs ("C.R.S." is CRS).
The match is exact after normalisation, never a substring: "CRS-like fever" or
"history of CRS" are not the syndrome, and are left for the data manager to
code. A counted term holding an odd character is named so in the report
(``oddity``).

ADAE keeps the verbatim term (``AETERM``) and writes the canonical preferred
term in ``AEDECOD`` for the syndromes, so the tables count one term; the report
lists every verbatim spelling that was mapped (``mapped_terms``), and every term
left unmapped that resembles a syndrome (``lookalike_terms``): "CRS grade 3",
"C.R.S. grade 4", "Cytokine relase syndrome", "Neurotoxicity", "CRS-like fever". Those are not
counted (the match stays exact), but a missed CRS is a safety rule gone blind, so
they are put to the data manager as a query in the report and an asset check.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Mapping

import polars as pl

from trial_outcomes.analysis.frames import scan, streamed
from trial_outcomes.schema import COUNTED_TEXT, CRS_TERM, ICANS_TERM
from trial_outcomes.text import char_name, invisible, mixed_script, one_spelling, printable, spelling_key

#: the syndromes' names in the languages a site may export in, the whole name (matched
#: as the English spellings are, after ``term_key``): a red team's CRS written in French,
#: Spanish, German or Chinese was neither counted nor queried, and the safety rule lost
#: every grade 4 so written (2026-12-07). A variant of them (a grade beside, another
#: word) is queried by the hints below, never counted.
CRS_TRANSLATIONS = (
    "síndrome de liberación de citocinas",  # Spanish
    "síndrome de liberación de citoquinas",
    "síndrome de liberação de citocinas",  # Portuguese
    "síndrome de libertação de citocinas",
    "Zytokin-Freisetzungssyndrom",  # German
    "sindrome da rilascio di citochine",  # Italian
    "sindrome da rilascio citochinico",
    "syndrome de relargage des cytokines",  # French
    "syndrome de relargage cytokinique",
    "syndrome de libération de cytokines",
    "syndrome de libération des cytokines",
    "cytokine-afgiftesyndroom",  # Dutch
    "细胞因子释放综合征",  # Chinese, simplified and traditional
    "細胞因子釋放綜合徵",
    "細胞激素釋放症候群",  # Taiwan's
    "细胞因子风暴",
    "синдром высвобождения цитокинов",  # Russian
    "sitokin salınım sendromu",  # Turkish
    "σύνδρομο απελευθέρωσης κυτοκινών",  # Greek
    "サイトカイン放出症候群",  # Japanese
    "사이토카인 방출 증후군",  # Korean
)
ICANS_TRANSLATIONS = (
    "síndrome de neurotoxicidad asociado a células efectoras inmunitarias",  # Spanish
    "síndrome de neurotoxicidad asociada a células efectoras inmunes",
    "síndrome de neurotoxicidade associada a células efetoras imunes",  # Portuguese
    "Immuneffektorzell-assoziiertes Neurotoxizitätssyndrom",  # German
    "sindrome da neurotossicità associata alle cellule effettrici immunitarie",  # Italian
    "syndrome de neurotoxicité associé aux cellules effectrices immunitaires",  # French
    "Immuuneffectorcel-geassocieerd neurotoxiciteitssyndroom",  # Dutch
    "免疫效应细胞相关神经毒性综合征",  # Chinese, simplified and traditional
    "免疫效應細胞相關神經毒性綜合徵",
    # the encephalopathy syndrome and CRES, as the English list counts them
    "免疫效应细胞相关脑病综合征",
    "免疫效應細胞相關腦病綜合徵",
    "CAR-T细胞相关脑病综合征",
    "CAR-T細胞相關腦病綜合徵",
    "免疫エフェクター細胞関連神経毒性症候群",  # Japanese
    "면역 효과기 세포 연관 신경독성 증후군",  # Korean
)

CRS_SPELLINGS = frozenset(
    {spelling_key(name) for name in CRS_TRANSLATIONS}
    | {
        "cytokine release syndrome",
        "crs",
        "cytokine release syndrome crs",
        "crs cytokine release syndrome",
        "cytokine storm",
        "cytokine release",
    }
)
ICANS_SPELLINGS = frozenset(
    {spelling_key(name) for name in ICANS_TRANSLATIONS}
    | {
        "immune effector cell associated neurotoxicity syndrome",
        "immune effector cell associated neurotoxicity syndrome icans",
        "icans immune effector cell associated neurotoxicity syndrome",
        "immune effector cell associated neurotoxicity",
        "immune effector cell neurotoxicity syndrome",
        "icans",
        "car t cell related encephalopathy syndrome",
        "car t related encephalopathy syndrome",
        "cres",
        # the "E" of the ICE score: a red team's "Immune effector cell-associated encephalopathy
        # syndrome" was neither counted nor queried, and the safety rule lost a grade 4
        "immune effector cell associated encephalopathy syndrome",
        "immune effector cell associated encephalopathy",
    }
)


def term_key(term: str) -> str:
    """A term as matched (``text.spelling_key``): "СRS" with a Cyrillic С, "C\u200bRS",
    "CRŚ" and "Cytokine-Release  Syndrome" are "crs", "crs", "crs" and "cytokine release
    syndrome"."""
    return spelling_key(term)


#: the spellings with their spaces taken out: "C.R.S." and "C R S" are CRS
_SOLID = {
    name: frozenset(s.replace(" ", "") for s in spellings)
    for name, spellings in (("CRS", CRS_SPELLINGS), ("ICANS", ICANS_SPELLINGS))
}


def syndrome_of(term: str | None) -> str | None:
    """``CRS``, ``ICANS`` or None for one verbatim term: its ``term_key`` among the
    spellings, or the key without its spaces among theirs (an abbreviation spelt out
    letter by letter)."""
    if term is None:
        return None
    key = term_key(term)
    for name, spellings in (("CRS", CRS_SPELLINGS), ("ICANS", ICANS_SPELLINGS)):
        if key in spellings or key.replace(" ", "") in _SOLID[name]:
            return name
    return None


def oddity(term: str) -> str | None:
    """What in a term is not plainly written: its first Cyrillic or Greek letter among
    Latin ones, or an invisible character, named (``U+0421 CYRILLIC CAPITAL LETTER
    ES``); None for a plain term. The report says it beside a term it counted."""
    odd = (
        mixed_script(term)
        or next((c for c in term if invisible(c)), None)
        or next((c for c in unicodedata.normalize("NFC", term) if _marked(c)), None)
    )
    return char_name(odd) if odd else None


def _marked(char: str) -> bool:
    """A combining mark, or a letter that carries one (Ś is S with an acute accent)."""
    return unicodedata.combining(char) > 0 or any(unicodedata.combining(c) for c in unicodedata.normalize("NFD", char))


def _each_distinct(values: pl.Series) -> pl.Series:
    """``syndrome_of`` each distinct term once, given back to every row in order."""
    distinct = values.unique()
    found = pl.DataFrame(
        {"term": distinct, "syndrome": pl.Series([syndrome_of(t) for t in distinct.to_list()], dtype=pl.String)}
    )
    rows = pl.DataFrame({"term": values}).join(found, on="term", how="left", nulls_equal=True, maintain_order="left")
    return rows["syndrome"]


def syndrome(term: pl.Expr) -> pl.Expr:
    """``CRS``, ``ICANS`` or null for an AE term. Each distinct term is normalised once:
    an export has a few dozen terms over millions of AE rows (the normalisation of every
    row, three times per ADAE, was half of ADAE's time at a million subjects)."""
    return term.map_batches(_each_distinct, return_dtype=pl.String, is_elementwise=True)


def is_crs(term: pl.Expr) -> pl.Expr:
    return (syndrome(term) == "CRS").fill_null(False)


def is_icans(term: pl.Expr) -> pl.Expr:
    return (syndrome(term) == "ICANS").fill_null(False)


def decoded_term(term: pl.Expr) -> pl.Expr:
    """The canonical preferred term for the syndromes; any other term as written."""
    found = syndrome(term)
    return (
        pl.when(found == "CRS").then(pl.lit(CRS_TERM)).when(found == "ICANS").then(pl.lit(ICANS_TERM)).otherwise(term)
    )


def counted_spellings(records: Mapping[str, pl.DataFrame]) -> dict[str, dict[str, str]]:
    """The spelling each AE term and SOC of the whole drop is counted under, where the
    drop writes one value several ways (``schema.COUNTED_TEXT``, ``text.one_spelling``):
    ``"adverse_events.term"`` -> {spelling: counted as}. Only the distinct values and
    their counts are held (a streamed count over a million subjects' AEs)."""
    out = {}
    for record, column, preferred in COUNTED_TEXT:
        if record not in records:
            continue
        query = scan(records, record)
        if column not in query.collect_schema().names():
            continue
        counts = streamed(query.group_by(column).agg(pl.len()).drop_nulls(column))
        mapping = one_spelling(dict(counts.iter_rows()), preferred)
        if mapping:
            out[f"{record}.{column}"] = mapping
    return out


def mapped_terms(adverse_events: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Every verbatim spelling identified as CRS or ICANS, with its number of AE rows:
    ``syndrome, term, n``, sorted. ``adverse_events`` may be a scan of the record: its
    terms are counted a batch at a time (the AEs of a million subjects were read whole
    beside ADAE for this)."""
    counted = (
        adverse_events.lazy()
        .select(pl.col("term"), syndrome(pl.col("term")).alias("syndrome"))
        .filter(pl.col("syndrome").is_not_null())
        .group_by("syndrome", "term")
        .agg(pl.len().cast(pl.Int64).alias("n"))
    )
    return streamed(counted).sort("syndrome", "term")


#: words or word stems that, in a term not mapped, suggest the syndrome
_HINTS = {
    # the stems of cytokine in other languages, and the French and Spanish abbreviations
    # (the abbreviations need no Latin letter beside them, not a word's edge: "3级CRS" and
    # "重度CRS" have Chinese letters beside them, and were neither counted nor queried)
    "CRS": (
        r"(?<![a-z])crs(?![a-z])",
        r"^crs",
        r"cytokin",
        r"zytokin",
        r"citoc",
        r"citoq",
        r"citochin",
        r"sitokin",
        r"\bsrc\b",
        r"\bslc\b",
        *(
            re.escape(spelling_key(stem))
            for stem in (
                "细胞因子",
                "細胞因子",
                "细胞激素",
                "細胞激素",
                "サイトカイン",
                "사이토카인",
                "цитокин",
                "κυτοκιν",
            )
        ),
    ),
    # neurotoxicity, but not a drug's peripheral neuropathy; "Encephalopathy" alone (a grade
    # after it aside), not hepatic encephalopathy, PRES or leukoencephalopathy
    "ICANS": (
        r"(?<![a-z])icans(?![a-z])",
        r"^icans",
        r"(?<![a-z])cres(?![a-z])",
        r"^(?!.*peripheral).*neuro ?tox",
        r"neurolog\w* tox",
        r"^(acute |toxic )?encephalopathy$",
        # any other immune-effector-cell term, but IEC-HS (the HLH-like syndrome, its own AESI)
        r"^(?!.*(hlh|ha?emophagocyt|macrophage|\bhs\b)).*immune effector",
        # an encephalopathy syndrome, but PRES
        r"^(?!.*reversible).*encephalopathy syndrome",
        # neurotoxicity in Italian, Chinese, Japanese and Korean (the others spell "neurotox")
        r"neuro ?toss",
        *(re.escape(spelling_key(stem)) for stem in ("神经毒性", "神經毒性", "神経毒性", "신경독성")),
        # encephalopathy in other languages, but hepatic encephalopathy, PRES or leukoencephalopathy
        r"^(?!.*(hepat|epat|leu[ck]o|reversib|posterior)).*(encefalopat|encephalopathie|enzephalopath)",
        *("^(?!.*(肝|白质)).*" + re.escape(spelling_key(stem)) for stem in ("脑病", "腦病", "脳症", "뇌병증")),
    ),
}
#: a term this close to a spelling (difflib's ratio) is taken for a misspelling of it
SIMILAR = 0.85


def _hint_key(term: str) -> str:
    """``term_key`` as the hints read it: letters spelt one by one joined ("c r s grade 4"
    is "crs grade 4"), digits apart from letters ("crs4" is "crs 4"), and a grade at the
    end taken off ("encephalopathy grade 3" is "encephalopathy")."""
    key = term_key(term)
    key = re.sub(r"\b[a-z](?: [a-z]\b)+", lambda m: m.group(0).replace(" ", ""), key)
    key = re.sub(r"(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])", " ", key)
    return re.sub(r"(?: (?:grade|gr|g))? ?[0-9]+$", "", key).strip()


def resembles(term: str) -> str | None:
    """``CRS``, ``ICANS`` (or ``CRS or ICANS`` when it names both) when a term that is not
    one of the syndromes' spellings resembles one: it names the abbreviation as a word
    or starts with it ("CRS4", "C.R.S. grade 4"), holds a telling word (cytokine,
    neurotoxicity, encephalopathy alone), or is a near-spelling of a longer form (a
    typing error: difflib's ratio at least ``SIMILAR``); else None. A mapped term is
    never a lookalike."""
    if syndrome_of(term) is not None:
        return None
    key = _hint_key(term)
    named = [name for name, hints in _HINTS.items() if any(re.search(hint, key) for hint in hints)]
    if not named:
        named = [
            name
            for name, spellings in (("CRS", CRS_SPELLINGS), ("ICANS", ICANS_SPELLINGS))
            if any(len(s) > 6 and difflib.SequenceMatcher(None, key, s).ratio() >= SIMILAR for s in spellings)
        ]
    return " or ".join(named) or None


def lookalike_terms(
    terms: pl.DataFrame | pl.LazyFrame, term: str = "term", subject: str = "subject_id", shown: int = 10
) -> pl.DataFrame:
    """Every term not counted as CRS or ICANS that ``resembles`` one, with its AE rows,
    its subjects and the first ``shown`` of their ids: ``syndrome, term, n,
    n_subjects, subjects``, sorted. The distinct terms are few: each is looked at once,
    in Python; the subjects are gathered for the lookalikes alone."""
    counted = streamed(terms.lazy().group_by(pl.col(term).alias("term")).agg(pl.len().cast(pl.Int64).alias("n")))
    found = {t: s for t in counted["term"].drop_nulls() if (s := resembles(t)) is not None}
    schema = {"syndrome": pl.String, "term": pl.String, "n": pl.Int64, "n_subjects": pl.Int64, "subjects": pl.String}
    if not found:
        return pl.DataFrame(schema=schema)
    ids = pl.col("ids")
    who = streamed(
        terms.lazy()
        .filter(pl.col(term).is_in(list(found)))
        .group_by(pl.col(term).alias("term"))
        .agg(pl.col(subject).unique().sort().alias("ids"))
    ).with_columns(
        ids.list.len().cast(pl.Int64).alias("n_subjects"),
        pl.concat_str(
            ids.list.head(shown).list.join(", "),
            pl.when(ids.list.len() > shown)
            .then(pl.format(" and {} more", ids.list.len() - shown))
            .otherwise(pl.lit("")),
        ).alias("subjects"),
    )
    return (
        counted.join(who, on="term")
        .with_columns(pl.col("term").replace_strict(found, return_dtype=pl.String).alias("syndrome"))
        .select(list(schema))
        .sort("syndrome", "term")
    )


def lookalike_text(row: dict[str, object], with_subjects: bool = True) -> str:
    """One row of ``lookalike_terms`` as the ADAE check says it: ``"CRS grade 4" (like
    CRS: 1 AE(s) in 1 subject(s), BR-018)``; without the subjects for a report's
    aggregate table (the open report prints it; the closed one lists them apart)."""
    who = f", {row['subjects']}" if with_subjects else ""
    counted = f"{row['n']} AE(s) in {row['n_subjects']} subject(s)"
    return f'"{printable(row["term"])}" (like {row["syndrome"]}: {counted}{who})'


#: subjects infused from which a drop without any CRS is queried: at an incidence of 50%
#: (below any anti-CD19 CAR-T trial in children), none of 5 has probability 0.5**5 = 3%;
#: among fewer, no CRS yet is no sign of an unrecognised term or a missing export
CRS_QUERIED_FROM = 5


def crs_absence_query(crs_events: int, infused: int) -> str | None:
    """The query a drop without any CRS raises, or None: none when it reports CRS, or
    when fewer than ``CRS_QUERIED_FROM`` subjects are infused by the cut.

    Worked example (tests/analysis/test_syndrome_terms_and_windows.py): no CRS among 4
    infused is not queried; among 5 it is, and the query says so.
    """
    if crs_events or infused < CRS_QUERIED_FROM:
        return None
    return (
        f"no adverse event is coded as CRS among {infused} infused subjects. In a CAR-T trial this usually "
        "means a term the pipeline does not recognise or a missing export: query the data manager"
    )
