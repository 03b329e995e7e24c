"""define.xml (Define-XML 2.0) of a cut's ADaM datasets, from their contracts.

Everything here comes from ``contracts.py`` and the datasets themselves, never kept
beside them: each dataset (``ADAM_DATASETS``: label, class, structure, keys, its XPT),
each variable (label, type, SAS length from the data, mandatory when the contract
forbids a null), its origin (a predecessor from the enrolment record, assigned, or
derived), for a derived variable a method: its derivation in words and the rule of
``docs/endpoints.md`` that defines it; code lists from the contracts' codes (the Y/N
flags, the levels of ``labels.LEVELS``, ``CNSR`` and ``EVNTTYPE``) and from the data
(``PARAMCD`` with its ``PARAM``). A text value the XPT holds only in part (above 200
bytes, ``io.xpt``) is stated in a comment on its variable.

The file is checked against the Define-XML 2.0 schema and read back by odmlib in
``tests/reporting/test_define_xml.py``. Its creation time is the data cut (00:00), so
the same drop, cut and code give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Mapping

import dataframely as dy
import polars as pl

from trial_outcomes.contracts import (
    ADAM_DATASETS,
    ADSL,
    BASELINE_NAMES,
    RULES_DOC,
    STUDY_ID,
    YN,
    AdamDataset,
    is_category,
)
from trial_outcomes.io.xpt import DATE_FORMAT, MAX_TEXT_BYTES, xpt_length
from trial_outcomes.labels import LEVELS

ODM = "http://www.cdisc.org/ns/odm/v1.3"
DEF = "http://www.cdisc.org/ns/def/v2.0"
XLINK = "http://www.w3.org/1999/xlink"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
ET.register_namespace("", ODM)
ET.register_namespace("def", DEF)
ET.register_namespace("xlink", XLINK)

STUDY = STUDY_ID
ENDPOINTS_DOC = RULES_DOC  # beside define.xml in the cut's folder

#: the section of docs/endpoints.md that defines each dataset's derived variables
SECTION = {
    "ADSL": "Time and populations",
    "ADRS": "Response",
    "ADTTE": "Time-to-event endpoints (ADTTE)",
    "ADAE": "Adverse events (ADAE)",
    "ADLB": "Laboratory toxicity (ADLB)",
    "ADPC": "Cellular kinetics (ADPC)",
}
#: ADSL variables defined in another section than ADSL's own
ADSL_SECTIONS = {
    "Response": [
        "BOR28",
        "BORDT",
        "BORDY",
        "BORMRD",
        "CRFL",
        "CR28FL",
        "MRDNEGFL",
        "D28PNDFL",
        "D28ERLFL",
        "D28CLSDT",
        "RSP42FL",
        "TRTFLFL",
        "ORR3MFL",
        "ORR3MDT",
        "ORR3MPFL",
        "FRMDT",
        "FRMDY",
        "LSTREMDT",
        "LATERMFL",
    ],
    "Time-to-event endpoints (ADTTE)": [
        "RELDT",
        "RELSITE",
        "RELCD19",
        "RLAPDT",
        "RLAPSITE",
        "RLAPCD19",
        "NRMFL",
        "DTHCGR1",
        "ATTRENDT",
        "ATTRENRS",
    ],
    "Adverse events (ADAE)": [
        "CRSGR",
        "CRSONDY",
        "CRSDUR",
        "CRSTOCI",
        "CRSSTER",
        "CRSGRDV",
        "CRSGRAJ",
        "ICANGR",
        "ICANONDY",
        "ICANDUR",
        "ICANTOCI",
        "ICANSTER",
        "ICANGRDV",
        "ICANGRAJ",
    ],
}
#: integer codes and their meaning
INTEGER_CODES = {
    "CNSR": {"0": "Event", "1": "Censored"},
    "EVNTTYPE": {"0": "Censored", "1": "Event of the endpoint", "2": "Competing event"},
}
ASSIGNED = {
    "STUDYID": f"{STUDY} for every record",
    "AGEU": "YEARS for every subject",
    "AVALU": "DAYS for every record",
}
PREDECESSOR = {adam: f"enrolment.{raw}" for raw, adam in BASELINE_NAMES.items() if raw != adam}
PREDECESSOR["USUBJID"] = "subject_id of each record"


def _e(parent: ET.Element, tag: str, attrs: Mapping[str, str] | None = None, text: str | None = None) -> ET.Element:
    child = ET.SubElement(parent, tag, dict(attrs or {}))
    if text is not None:
        child.text = text
    return child


def _described(parent: ET.Element, text: str) -> None:
    description = _e(parent, f"{{{ODM}}}Description")
    _e(description, f"{{{ODM}}}TranslatedText", {XML_LANG: "en"}, text)


def _section(dataset: str, variable: str) -> str:
    if dataset == "ADSL":
        for section, names in ADSL_SECTIONS.items():
            if variable in names:
                return section
    return SECTION[dataset]


def _data_type(dtype: pl.DataType) -> tuple[str, str | None]:
    """Define-XML data type and display format of a polars type as the XPT stores it."""
    if dtype == pl.String or is_category(dtype):  # categories: written as text
        return "text", None
    if dtype == pl.Date:
        return "integer", DATE_FORMAT
    if dtype.is_integer():
        return "integer", None
    return "float", None


def _codelist_of(name: str, column: dy.Column, frame: pl.LazyFrame) -> dict[str, str] | None:
    if getattr(column, "regex", None) == YN:
        return {"N": "No", "Y": "Yes"}
    if name in INTEGER_CODES:
        return INTEGER_CODES[name]
    if name in LEVELS:
        return dict(sorted(LEVELS[name].items()))
    if name == "PARAMCD" and "PARAM" in frame.collect_schema():
        pairs = frame.select("PARAMCD", "PARAM").unique().sort("PARAMCD").collect().rows()
        return {str(code): str(text) for code, text in pairs}
    return None


def _text_lengths(frame: pl.LazyFrame, name: str) -> tuple[int, int, int, int]:
    """Of text column ``name``: the XPT variable's length (``xpt.xpt_length``), how many
    values are above 200 bytes, the longest in bytes, and how many hold characters outside
    ASCII, in one query of the column streamed from its file (until 2026-12-06 the column
    was loaded and passed over five times, and searched with a regular expression: 2.9 s of
    define.xml's 3 s at 100,000 subjects).
    The values above 200 bytes, if any, are read apart: each is cut on a character boundary."""
    text = pl.col(name).cast(pl.String)
    size = text.str.len_bytes()
    facts = frame.select(
        size.filter(size <= MAX_TEXT_BYTES).max().alias("fitting"),
        (size > MAX_TEXT_BYTES).sum().alias("over"),
        size.max().alias("longest"),
        (size != text.str.len_chars()).sum().alias("non_ascii"),  # a character outside ASCII is 2-4 bytes
    ).collect(engine="streaming")
    fitting, over, longest, non_ascii = (int(v or 0) for v in facts.row(0))
    length = max(1, fitting)
    if over:
        length = max(length, xpt_length(frame.select(text).filter(size > MAX_TEXT_BYTES).unique().collect()[name]))
    return length, over, longest, non_ascii


def build_define(
    frames: Mapping[str, pl.DataFrame] | Mapping[str, pl.LazyFrame],
    schemas: Mapping[str, type[dy.Schema]],
    cut: dt.date,
    code_version: str,
) -> bytes:
    """define.xml of the datasets in ``frames`` (keyed by ADaM name: ADSL, ADRS, ...),
    each under its contract in ``schemas``."""
    stamp = f"{cut.isoformat()}T00:00:00"
    root = ET.Element(
        f"{{{ODM}}}ODM",
        {
            "FileType": "Snapshot",
            "FileOID": f"DEFINE.{STUDY}.{cut.isoformat()}",
            "ODMVersion": "1.3.2",
            "CreationDateTime": stamp,
            "Originator": "trial-outcomes",
            "SourceSystem": "trial-outcomes",
            "SourceSystemVersion": code_version,
        },
    )
    study = _e(root, f"{{{ODM}}}Study", {"OID": f"STUDY.{STUDY}"})
    glob = _e(study, f"{{{ODM}}}GlobalVariables")
    _e(glob, f"{{{ODM}}}StudyName", text=STUDY)
    _e(glob, f"{{{ODM}}}StudyDescription", text="Anti-CD19 CAR-T cells in children with relapsed or refractory B-ALL")
    _e(glob, f"{{{ODM}}}ProtocolName", text=STUDY)
    mdv = _e(
        study,
        f"{{{ODM}}}MetaDataVersion",
        {
            "OID": f"MDV.{STUDY}.{cut.isoformat()}",
            "Name": f"ADaM datasets at the data cut {cut.isoformat()}",
            f"{{{DEF}}}DefineVersion": "2.0.0",
            f"{{{DEF}}}StandardName": "ADaM-IG",
            f"{{{DEF}}}StandardVersion": "1.1",
        },
    )
    supplemental = _e(mdv, f"{{{DEF}}}SupplementalDoc")
    _e(supplemental, f"{{{DEF}}}DocumentRef", {"leafID": "LF.ENDPOINTS"})

    item_defs: list[ET.Element] = []
    codelists: dict[str, tuple[str, dict[str, str]]] = {}
    methods: list[ET.Element] = []
    comments: list[ET.Element] = []
    for adam in ADAM_DATASETS:
        if adam.name not in frames:
            continue
        # a column at a time: a dataset read as a scan (``assets/publish.py``) is never held whole
        frame, schema = frames[adam.name].lazy(), schemas[adam.name]
        types = frame.collect_schema()
        columns = schema.columns()
        group = _item_group(mdv, adam)
        for order, name in enumerate(types.names(), start=1):
            column = columns[name]
            oid = f"IT.{adam.name}.{name}"
            ref = {
                "ItemOID": oid,
                "OrderNumber": str(order),
                "Mandatory": "No" if column.nullable else "Yes",
            }
            if name in adam.keys:
                ref["KeySequence"] = str(adam.keys.index(name) + 1)
            origin = _origin(adam.name, name)
            if origin == "Derived":
                ref["MethodOID"] = f"MT.{adam.name}.{name}"
                methods.append(_method(adam.name, name, column))
            _e(group, f"{{{ODM}}}ItemRef", ref)
            item = ET.Element(f"{{{ODM}}}ItemDef")
            item_defs.append(item)
            data_type, display = _data_type(types[name])
            attrs = {"OID": oid, "Name": name, "DataType": data_type, "SASFieldName": name}
            if data_type == "text":
                length, cut_values, longest, non_ascii = _text_lengths(frame, name)
                attrs["Length"] = str(length)  # the XPT's own: a cut text can be 199 bytes
                if longest > MAX_TEXT_BYTES or non_ascii:
                    attrs[f"{{{DEF}}}CommentOID"] = f"COM.{adam.name}.{name}"
                    comments.append(_comment(adam.name, name, cut_values, longest, non_ascii))
            else:
                attrs["Length"] = "8"
            if display:
                attrs[f"{{{DEF}}}DisplayFormat"] = display
            item.attrib.update(attrs)
            _described(item, column.description or name)
            codes = _codelist_of(name, column, frame)
            if codes:  # no list without an item (the schema needs one: ADLB's PARAMCD without the labs file)
                key = "CL.NY" if codes == {"N": "No", "Y": "Yes"} else f"CL.{adam.name}.{name}"
                codelists.setdefault(key, ("text" if data_type == "text" else "integer", codes))
                _e(item, f"{{{ODM}}}CodeListRef", {"CodeListOID": key})
            _origin_element(item, adam.name, name, origin)
        leaf = _e(group, f"{{{DEF}}}leaf", {"ID": f"LF.{adam.name}", f"{{{XLINK}}}href": adam.xpt})
        _e(leaf, f"{{{DEF}}}title", text=adam.xpt)
    mdv.extend(item_defs)
    for oid, (data_type, codes) in sorted(codelists.items()):
        codelist = _e(mdv, f"{{{ODM}}}CodeList", {"OID": oid, "Name": oid.removeprefix("CL."), "DataType": data_type})
        for code, decode in codes.items():
            entry = _e(codelist, f"{{{ODM}}}CodeListItem", {"CodedValue": code})
            text = _e(entry, f"{{{ODM}}}Decode")
            _e(text, f"{{{ODM}}}TranslatedText", {XML_LANG: "en"}, decode)
    mdv.extend(methods)
    mdv.extend(comments)
    leaf = _e(mdv, f"{{{DEF}}}leaf", {"ID": "LF.ENDPOINTS", f"{{{XLINK}}}href": ENDPOINTS_DOC})
    _e(leaf, f"{{{DEF}}}title", text=f"Endpoints: how each number is derived (trial-outcomes {code_version})")
    ET.indent(root)
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"


def _item_group(mdv: ET.Element, adam: AdamDataset) -> ET.Element:
    group = _e(
        mdv,
        f"{{{ODM}}}ItemGroupDef",
        {
            "OID": f"IG.{adam.name}",
            "Name": adam.name,
            "Repeating": "No" if adam.name == "ADSL" else "Yes",
            "IsReferenceData": "No",
            "SASDatasetName": adam.name,
            "Purpose": "Analysis",
            f"{{{DEF}}}Structure": adam.structure,
            f"{{{DEF}}}Class": adam.adam_class,
            f"{{{DEF}}}ArchiveLocationID": f"LF.{adam.name}",
        },
    )
    _described(group, adam.label)
    return group


def _origin(dataset: str, name: str) -> str:
    """Assigned (a constant), Predecessor (ADSL's baseline from the enrolment record;
    ADTTE's copies of ADSL variables: its populations and the plan's subgroups), or
    Derived."""
    if name in ASSIGNED:
        return "Assigned"
    if name in PREDECESSOR or (dataset == "ADTTE" and name in ADSL.columns()):
        return "Predecessor"
    return "Derived"


def _origin_element(item: ET.Element, dataset: str, name: str, origin: str) -> None:
    element = _e(item, f"{{{DEF}}}Origin", {"Type": origin})
    if origin == "Assigned":
        _described(element, ASSIGNED[name])
    elif origin == "Predecessor":
        _described(element, PREDECESSOR.get(name, f"ADSL.{name}") if dataset == "ADSL" else f"ADSL.{name}")


def _method(dataset: str, name: str, column: dy.Column) -> ET.Element:
    section = _section(dataset, name)
    detail = (column.metadata or {}).get("method")
    text = (column.description or name) + (f": {detail}" if detail else "")
    method = ET.Element(
        f"{{{ODM}}}MethodDef",
        {"OID": f"MT.{dataset}.{name}", "Name": f"Algorithm to derive {dataset}.{name}", "Type": "Computation"},
    )
    _described(method, f"{text}. Rule: {ENDPOINTS_DOC}, section '{section}'.")
    _e(method, f"{{{DEF}}}DocumentRef", {"leafID": "LF.ENDPOINTS"})
    return method


def _comment(dataset: str, name: str, values: int, longest: int, non_ascii: int = 0) -> ET.Element:
    """What the XPT does to a text variable's values: ``values`` cut (the longest
    ``longest`` bytes), and ``non_ascii`` holding characters outside ASCII, written as
    UTF-8 bytes with no encoding recorded (a red team's accented and Chinese texts read
    garbled in a Latin-1 SAS session, and nothing said which encoding they were in)."""
    comment = ET.Element(f"{{{DEF}}}CommentDef", {"OID": f"COM.{dataset}.{name}"})
    said = []
    if values:
        said.append(
            f"{values} value(s) longer than {MAX_TEXT_BYTES} bytes (the longest {longest}) are cut to at most "
            f"{MAX_TEXT_BYTES} bytes, on a character boundary, in the XPT (SAS transport version 5); the Parquet "
            "keeps the whole text."
        )
    if non_ascii:
        said.append(
            f"{non_ascii} value(s) hold characters outside ASCII, written in the XPT as UTF-8 bytes (SAS transport "
            "version 5 records no encoding: read it as UTF-8, as a session in Latin-1 shows them garbled); the "
            "Parquet holds the same text."
        )
    _described(comment, " ".join(said))
    return comment
