"""One normalisation and one look-alike check for every identifier and header.

Identifiers (``subject_id``, ``ae_id``) are compared in Unicode NFC, so the two
spellings of ``BR-É02`` (one precomposed letter, or E and a combining accent)
are one subject. What NFC cannot make equal is refused, never guessed:

* a compatibility character (full-width ``ＢＲ-001``, a ligature): its NFKC
  form differs;
* Latin letters mixed with Cyrillic or Greek ones (``ВR-001`` with a Cyrillic В):
  ``mixed_script``;
* two ids of one drop that look alike (``skeleton``: NFKC, invisible characters
  removed, Cyrillic and Greek look-alikes read as Latin, case folded).

A header is matched by ``header_key`` (NFKC, blanks and a BOM stripped, case
folded, a run of spaces, hyphens or underscores one underscore: an export's label
"Subject ID" is ``subject_id``, as codes are matched); a header whose look-alike
skeleton names a known column without being it (``sоc`` with a Cyrillic о,
``cause_category`` with a zero-width space or a soft hyphen) is refused naming the character (``lookalike_of``).

``printable`` escapes control, format and bidirectional characters for any
message a terminal or a log shows (an id holding ESC sequences once recoloured
the terminal).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

import polars as pl

#: Cyrillic and Greek letters drawn like Latin ones (Unicode's confusables, the common part)
CONFUSABLES = str.maketrans(
    {
        **dict(zip("АВЕЅІЈКМНОРСТХУаеіјорсхуѕԁԛԝһӏ", "ABESIJKMHOPCTXYaeijopcxysdqwhl", strict=True)),
        **dict(zip("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧαοριυνκ", "ABEZHIKMNOPTYXaopiuvk", strict=True)),
    }
)
_INVISIBLE = re.compile(
    r"[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    r"\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]"
)
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_OTHER_SCRIPT = re.compile(r"[\u0370-\u03ff\u0400-\u04ff\u0500-\u052f]")
#: control characters (but tab, line feed, carriage return), bidirectional controls, NUL
UNSAFE_TEXT = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]"
_UNSAFE = re.compile(UNSAFE_TEXT)


def char_name(char: str) -> str:
    """``U+043E CYRILLIC SMALL LETTER O``."""
    return f"U+{ord(char):04X} {unicodedata.name(char, 'unnamed character')}"


def skeleton(text: str) -> str:
    """What ``text`` looks like: NFKC, invisible characters removed, Cyrillic and
    Greek look-alikes as Latin, case folded. ``ВR-001`` and ``br-001`` -> ``br-001``."""
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).translate(CONFUSABLES).casefold()


def invisible(char: str) -> bool:
    """Whether a character draws nothing (a zero-width space, a soft hyphen, a BOM)."""
    return _INVISIBLE.fullmatch(char) is not None


def mixed_script(text: str) -> str | None:
    """The first Cyrillic or Greek letter of a text that also holds Latin letters, or None."""
    if not _LATIN.search(text):
        return None
    found = _OTHER_SCRIPT.search(text)
    return found.group(0) if found else None


def header_key(column: str) -> str:
    """A header as matched: NFKC, without surrounding blanks or a BOM, case folded, and
    each run of spaces (any Unicode space, not a tab or line break), hyphens and
    underscores inside it one underscore."""
    return underscored(unicodedata.normalize("NFKC", column).strip().lstrip("\ufeff").strip().casefold())


#: the polars form of ``underscored``'s runs (``parse.typed_value`` matches codes with it)
SEPARATOR_RUN = r"[\p{Zs}_\-]+"


def underscored(text: str) -> str:
    """Each run of spaces (any Unicode space: not a tab or a line break), hyphens and
    underscores one underscore: the one rule by which headers and codes are matched
    (``header_key``, ``schema.code_key``; ``SEPARATOR_RUN`` in polars; qc.R's
    ``as_code`` after its ``unicode_space``)."""
    spaced = "".join(" " if unicodedata.category(c) == "Zs" else c for c in text)
    return re.sub(r"[ _\-]+", "_", spaced)


def lookalike_of(column: str, known: tuple[str, ...] | list[str]) -> tuple[str, str] | None:
    """``(known column, the odd character)`` when ``column`` is not a known name but
    looks like one (a Cyrillic letter, an invisible character), else None."""
    key = header_key(column)
    if key in known:
        return None
    target = skeleton(key)
    for name in known:
        if skeleton(name) == target:
            odd = next((c for c in key if c not in name), key[:1])
            return name, odd
    return None


def printable(text: object) -> str:
    """``text`` with control, format (invisible) and bidirectional characters escaped
    (``\\x1b``, ``\\u202e``, ``\\u200b``), for a message shown on a terminal or in a log."""
    value = str(text)
    return "".join(
        char.encode("unicode_escape").decode("ascii")
        if _UNSAFE.match(char) or (ord(char) > 0x7F and unicodedata.category(char) in ("Cf", "Cc", "Co", "Cn"))
        else char
        for char in value
    )


def first_of(items: Sequence[str], limit: int) -> str:
    """``items`` as a message lists them: the first ``limit`` joined by commas, then how
    many more (``a, b and 3 more``)."""
    return ", ".join(items[:limit]) + (f" and {len(items) - limit} more" if len(items) > limit else "")


def spelling_key(text: str) -> str:
    """A term as matched: what it looks like (``skeleton``: NFKC, invisible characters
    removed, Cyrillic and Greek look-alike letters read as Latin, case folded), accents
    and other combining marks taken off, each run of characters that are neither letters
    nor digits one space, trimmed, an ampersand read as "and". "СRS" with a Cyrillic С,
    "C\u200bRS", "CRŚ", "Cytokine-Release  Syndrome" and "Infections & infestations" are
    "crs", "crs", "crs", "cytokine release syndrome" and "infections and infestations" (a
    red team's SOC written with "&" lost every grade >= 3 infection)."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", skeleton(text)) if not unicodedata.combining(c))
    return re.sub(r"[\W_]+", " ", plain.replace("&", " and ")).strip()


def value_key(text: str) -> str:
    """A value as ``one_spelling`` matches it: without invisible characters, Cyrillic and
    Greek look-alike letters read as Latin, case folded, accents taken off, and each run of
    spaces and punctuation (dashes, full stops, commas, brackets, quotes, slashes) one
    space, trimmed; signs and symbols stay ("CD19+ relapse" is not "CD19- relapse", "<20"
    is not ">20"), as do superscripts ("10⁹/L" is not "109/L"): ``spelling_key`` erases
    them, which merged a reviewer's CD19-positive and CD19-negative relapses. British and
    American spellings of medical words are one (``BRITISH``: "Anaemia" is "anemia",
    "Oedema" "edema", "Diarrhoea" "diarrhea", "Tumour" "tumor"): a red team's export
    split Anaemia into two rows of the AE table, 11 and 10 subjects, for 21."""
    plain = unicodedata.normalize("NFD", _INVISIBLE.sub("", text).translate(CONFUSABLES).casefold())
    kept = (
        " " if (unicodedata.category(c)[0] in "PZC" and c != "%") else c for c in plain if not unicodedata.combining(c)
    )
    key = " ".join("".join(kept).split())
    for british, american in BRITISH:
        key = british.sub(american, key)
    return key


#: British spellings of medical words, as American ones (``value_key``): -aemia and haem-,
#: oe- (oedema, oesophagitis), -oea (diarrhoea, dyspnoea), tumour, paed-, -isation
BRITISH = tuple(
    (re.compile(pattern), american)
    for pattern, american in (
        (r"aem", "em"),
        (r"\boe", "e"),
        (r"oea\b", "ea"),
        (r"tumour", "tumor"),
        (r"paed", "ped"),
        (r"isation\b", "ization"),
    )
)


def _as_written(spelling: str) -> tuple[int, int]:
    """How a dictionary writes a term, best first: a capital then small letters (MedDRA's
    "Febrile neutropenia") before all capitals or all small letters, then the fewest
    capitals ("Febrile neutropenia" before "Febrile Neutropenia")."""
    letters = [c for c in spelling if c.isalpha()]
    one_case = bool(letters) and (all(c.isupper() for c in letters) or all(c.islower() for c in letters))
    return int(one_case), sum(c.isupper() for c in letters)


def one_spelling(counts: Mapping[str, int], preferred: Iterable[str] = ()) -> dict[str, str]:
    """The spelling each value is counted under, for the values whose spelling differs
    from it: values with one ``value_key`` ("FEBRILE NEUTROPENIA", "Febrile
    Neutropenia", "febrile neutropenia") are one value, written as a ``preferred``
    spelling of that key where there is one (MedDRA's SOC names), else as the spelling of
    the most rows, then as a dictionary writes (``_as_written``), then the first in
    code-point order. ``counts``: spelling -> rows. An AE table once gave "Febrile
    neutropenia" four rows, one per capitalisation, and the infections AESI lost every
    event whose SOC was in capitals. An "&" is "and" where it makes a value a ``preferred``
    spelling (data-contract.md): a red team's "Blood & lymphatic system disorders" was an
    SOC of its own, beside MedDRA's, and took a grade 3 febrile neutropenia from it
    (2026-12-07); elsewhere "&" stays a sign."""
    standard = {value_key(p): p for p in preferred}
    groups: dict[str, list[str]] = {}
    for spelling in counts:
        key = value_key(spelling)
        if "&" in spelling and (anded := value_key(spelling.replace("&", " and "))) in standard:
            key = anded
        groups.setdefault(key, []).append(spelling)
    out = {}
    for key, spellings in groups.items():
        chosen = standard.get(key) or min(spellings, key=lambda s: (-counts[s], *_as_written(s), s))
        out.update({s: chosen for s in spellings if s != chosen})
    return out


def term_words(text: pl.Expr) -> pl.Expr:
    """A term's words, column-wise: small letters, "&" read as "and", each run of
    characters that are neither letters nor digits one space, trimmed ("Neutrophil count
    decreased." and "Tumour-lysis syndrome" are "neutrophil count decreased" and "tumour
    lysis syndrome"). ``spelling_key`` for a whole column at once, without its look-alike
    letters and accents (a value at a time)."""
    return (
        text.str.to_lowercase().str.replace_all("&", " and ").str.replace_all(r"[^\p{L}\p{N}]+", " ").str.strip_chars()
    )
