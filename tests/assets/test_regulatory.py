"""The regulatory deliverables of a published cut (issue 25): each ADaM dataset as SAS
transport beside its Parquet, define.xml, and the independent QC program's report.

Every check reads what the run published: the XPT files back with two readers that
share no code with the writer's path here (pyreadstat's reader and R's
``foreign::read.xport``), define.xml against the Define-XML 2.0 schema (the XSD that
odmlib ships) and through odmlib's own Define-XML model."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import odmlib
import odmlib.loader as odm_loader
import polars as pl
import pytest
import xmlschema
from odmlib import define_loader

from tests.helpers import ROOT, needs_r
from trial_outcomes.contracts import ADAM_DATASETS, DEFINE_XML, OUTPUT_BY_FILE, AdamDataset
from trial_outcomes.io.outputs import sorted_by_keys
from trial_outcomes.io.qc import QC_REPORT
from trial_outcomes.io.xpt import read_xpt

DEFINE_XSD = Path(odmlib.__file__).parent / "schemas" / "define" / "2.0" / "define2-0-0.xsd"
ODM = "{http://www.cdisc.org/ns/odm/v1.3}"
DEF = "http://www.cdisc.org/ns/def/v2.0"
XLINK = "http://www.w3.org/1999/xlink"


def _as_xpt_holds(frame: pl.DataFrame) -> pl.DataFrame:
    """The Parquet as XPT v5 can hold it: a missing text is empty, every number a double."""
    return frame.with_columns(
        pl.col(pl.String).fill_null(""),
        pl.col(pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt32).cast(pl.Float64),
    )


def _in_xpt_order(parquet: pl.DataFrame, adam: AdamDataset) -> pl.DataFrame:
    """The Parquet's rows in the XPT's order: as derived, or sorted by the keys."""
    return parquet if adam.in_key_order else sorted_by_keys(parquet, adam.keys)


def test_each_xpt_is_in_the_order_of_its_keys_which_are_unique(materialized):
    """define.xml's KeySequence states each dataset's keys, which are unique and give its
    row order: a reviewer sorts by them, and a validator checks the order. Until
    2026-12-06 ADTTE's XPT was in the order of its derivation (OS for every subject, then
    EFS, ...) and ADAE's by onset, against keys USUBJID, PARAMCD, ANALYSIS and USUBJID,
    AESPID. Each XPT read back: its key tuples, compared as Python compares them (text by
    code point, dates and numbers by value), are strictly increasing; a dataset declared
    in key order has its Parquet in the same order (no sort needed when writing)."""
    folder = materialized.folder
    for adam in ADAM_DATASETS:
        back, _ = read_xpt(folder / adam.xpt)
        rows = back.select(adam.keys).rows()
        assert all(a < b for a, b in itertools.pairwise(rows)), adam.name
        if adam.in_key_order:
            parquet = pl.read_parquet(folder / adam.output, columns=list(adam.keys))
            assert _as_xpt_holds(parquet).rows() == rows, adam.name


def test_each_adam_dataset_is_published_as_xpt_equal_to_its_parquet(materialized):
    folder = materialized.folder
    for adam in ADAM_DATASETS:
        parquet = _in_xpt_order(pl.read_parquet(folder / adam.output), adam)
        back, labels = read_xpt(folder / adam.xpt)
        assert back.columns == parquet.columns, adam.name
        assert back.equals(_as_xpt_holds(parquet)), adam.name
        schema = OUTPUT_BY_FILE[adam.output].schema_for((6, 12, 24), ())
        declared = schema.columns()
        assert all(labels[c] == declared[c].description for c in back.columns if c in declared), adam.name


def test_the_xpt_files_read_back_in_r_equal_the_parquet(materialized, tmp_path):
    """R's foreign::read.xport (SAS's own transport reader in R) reads names, labels and
    DATE9. formats; its values equal the Parquet (dates as SAS day numbers from 1960)."""
    needs_r()
    folder = materialized.folder
    script = tmp_path / "read.R"
    script.write_text(
        "library(foreign); args <- commandArgs(TRUE); x <- read.xport(args[1]); info <- lookup.xport(args[1])[[1]]\n"
        'write.csv(x, args[2], row.names = FALSE, na = "")\n'
        "info <- data.frame(name = info$name, label = info$label, format = info$format)\n"
        "write.csv(info, args[3], row.names = FALSE)\n"
    )
    for adam in ADAM_DATASETS:
        values, meta = tmp_path / f"{adam.name}.csv", tmp_path / f"{adam.name}.meta.csv"
        subprocess.run(["Rscript", str(script), str(folder / adam.xpt), str(values), str(meta)], check=True)
        parquet = _as_xpt_holds(_in_xpt_order(pl.read_parquet(folder / adam.output), adam))
        dates = [c for c, t in parquet.schema.items() if t == pl.Date]
        expected = parquet.with_columns(
            (pl.col(c) - pl.date(1960, 1, 1)).dt.total_days().cast(pl.Float64) for c in dates
        )
        from_r = pl.read_csv(values, infer_schema_length=0).with_columns(
            pl.col(c).cast(pl.Float64) for c, t in expected.schema.items() if t == pl.Float64
        )
        from_r = from_r.with_columns(pl.col(pl.String).fill_null(""))
        assert from_r.columns == expected.columns, adam.name
        for column in expected.columns:
            ours, theirs = expected[column], from_r[column]
            if ours.dtype == pl.Float64:
                assert ((ours - theirs).abs() <= 1e-9 * ours.abs().clip(1)).fill_null(ours.is_null()).all(), column
                assert (ours.is_null() == theirs.is_null()).all(), column
            else:
                assert ours.to_list() == theirs.to_list(), (adam.name, column)
        info = pl.read_csv(meta)
        formats = dict(zip(info["name"], info["format"].fill_null(""), strict=True))
        assert all(formats[c] == "DATE" for c in dates), adam.name


def test_define_xml_is_valid_define_2_0_and_describes_every_xpt_variable(materialized):
    folder = materialized.folder
    path = folder / DEFINE_XML
    xmlschema.XMLSchema(str(DEFINE_XSD)).validate(str(path))
    loader = odm_loader.ODMLoader(define_loader.XMLDefineLoader())
    loader.open_odm_document(str(path))
    mdv = loader.MetaDataVersion()
    items = {item.OID: item for item in mdv.ItemDef}
    methods = {m.OID for m in mdv.MethodDef}
    codelists = {c.OID for c in mdv.CodeList}
    groups = {g.Name: g for g in mdv.ItemGroupDef}
    assert set(groups) == {d.name for d in ADAM_DATASETS}
    for adam in ADAM_DATASETS:
        data, labels = read_xpt(folder / adam.xpt)
        widths = _xpt_lengths(folder / adam.xpt)
        group = groups[adam.name]
        assert group.leaf.href == adam.xpt
        refs = {items[r.ItemOID].Name: (r, items[r.ItemOID]) for r in group.ItemRef}
        assert list(refs) == data.columns, adam.name  # every variable, in the XPT's order
        for name, (ref, item) in refs.items():
            assert item.Description.TranslatedText[0]._content == labels[name]
            assert len(name) <= 8 and len(labels[name]) <= 40
            if item.DataType == "text":  # the XPT's own length (a red team's define.xml said 200 for 199)
                assert int(item.Length) == widths[name], (adam.name, name)
            if ref.MethodOID:
                assert ref.MethodOID in methods
            if item.CodeListRef:
                assert item.CodeListRef.CodeListOID in codelists
    # ADTTE's copies of ADSL variables come from ADSL, not from a derivation of their own
    origins = {e.get("OID"): e.find(f"{{{DEF}}}Origin") for e in ET.parse(path).getroot().iter(f"{ODM}ItemDef")}
    for name in ("AGEGR1", "SAFFL"):
        origin = origins[f"IT.ADTTE.{name}"]
        assert origin.get("Type") == "Predecessor" and origin.findtext(f".//{ODM}TranslatedText") == f"ADSL.{name}"
    assert origins["IT.ADSL.AGEGR1"].get("Type") == "Derived"
    crfl = next(m for m in mdv.MethodDef if m.OID == "MT.ADSL.CRFL")
    assert "endpoints.md, section 'Response'" in crfl.Description.TranslatedText[0]._content
    # every document define.xml points at is in the cut's folder (a reviewer found its 148
    # methods pointing at docs/endpoints.md, which no cut held), and is the rules document
    hrefs = {e.get(f"{{{XLINK}}}href") for e in ET.parse(path).getroot().iter(f"{{{DEF}}}leaf")}
    assert hrefs and all((folder / h).is_file() for h in hrefs), hrefs
    assert (folder / "endpoints.md").read_bytes() == (ROOT / "docs" / "endpoints.md").read_bytes()


def test_the_published_cut_holds_the_qc_report_and_page_1_states_it(materialized):
    needs_r()
    folder = materialized.folder
    report = pl.read_csv(folder / QC_REPORT, infer_schema_length=0)
    assert set(report["check"]) >= {"response", "kaplan-meier", "cumulative incidence", "cox", "raw drop"}
    assert report.filter(pl.col("agrees") == "no").is_empty(), report.filter(pl.col("agrees") == "no").rows()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert QC_REPORT in manifest["outputs"] and DEFINE_XML in manifest["outputs"]
    html = (folder / "report.html").read_text()
    assert "Independent QC (double programming in R)" in html and "numbers agree" in html


def test_the_xpt_holds_what_version_5_can_and_says_what_it_cut(tmp_path):
    """Worked example: a 250-byte text (the 201st byte inside a two-byte character) is
    cut to 199 bytes, never mid-character; the Parquet keeps it whole; define.xml states
    the cut; writing twice gives the same bytes (the headers carry the cut, not the clock)."""
    import datetime as dt

    from trial_outcomes.contracts import ADAE
    from trial_outcomes.io.xpt import write_xpt
    from trial_outcomes.reporting.define_xml import build_define

    long_text = "a" * 199 + "é" + "b" * 49  # 199 + 2 + 49 = 250 bytes
    frame = pl.DataFrame({"USUBJID": ["S1", "S2"], "AETERM": [long_text, None]})
    cut = dt.date(2024, 3, 31)
    first = write_xpt(frame, ADAE, "ADAE", "Adverse Events Analysis Dataset", tmp_path / "a.xpt", cut)
    write_xpt(frame, ADAE, "ADAE", "Adverse Events Analysis Dataset", tmp_path / "b.xpt", cut)
    assert (tmp_path / "a.xpt").read_bytes() == (tmp_path / "b.xpt").read_bytes()
    assert b"31MAR24:00:00:00" in (tmp_path / "a.xpt").read_bytes()[:400]
    assert [(t.variable, t.values, t.longest_bytes) for t in first] == [("AETERM", 1, 250)]
    back, _ = read_xpt(tmp_path / "a.xpt")
    assert back["AETERM"].to_list() == ["a" * 199, ""]
    xml = build_define({"ADAE": frame}, {"ADAE": ADAE}, cut, "test").decode()
    assert "1 value(s) longer than 200 bytes (the longest 250) are cut to at most 200 bytes" in xml
    # the variable's length is the XPT's, 199 (a red team's define.xml said 200)
    (aeterm,) = [i for i in ET.fromstring(xml).iter(f"{ODM}ItemDef") if i.get("Name") == "AETERM"]
    assert aeterm.get("Length") == "199"
    assert _xpt_lengths(tmp_path / "a.xpt")["AETERM"] == 199
    # the "é" is outside ASCII: the XPT holds its UTF-8 bytes, with no encoding recorded, and
    # define.xml says so (a red team's accented and Chinese texts were unmarked); an
    # ASCII-only variable has no comment
    assert "1 value(s) hold characters outside ASCII, written in the XPT as UTF-8 bytes" in xml
    ascii_only = build_define({"ADAE": frame.with_columns(pl.lit("Fever").alias("AETERM"))}, {"ADAE": ADAE}, cut, "t")
    assert b"CommentDef" not in ascii_only
    accented = frame.with_columns(pl.Series("AETERM", ["Fièvre", "发热"]))
    xml = build_define({"ADAE": accented}, {"ADAE": ADAE}, cut, "test").decode()
    assert "2 value(s) hold characters outside ASCII" in xml and "longer than 200 bytes" not in xml

    with pytest.raises(ValueError, match="name longer than 8"):
        write_xpt(frame.rename({"AETERM": "AETERMLONG"}), ADAE, "ADAE", "x", tmp_path / "c.xpt", cut)


def _xpt_lengths(path: Path) -> dict[str, int]:
    """Each text variable's length in bytes as the XPT declares it (ReadStat's reader)."""
    import pyreadstat

    _, meta = pyreadstat.read_xport(str(path), metadataonly=True)
    return dict(meta.variable_storage_width)


def test_define_xml_of_a_drop_without_labs_is_valid(materialized):
    """A red team's drop without the optional labs file: ADLB and ADPC have no rows, and
    their PARAMCD code lists were empty ``<CodeList/>`` elements, which Define-XML 2.0
    refuses (a code list needs an item). Built from the published datasets with ADLB and
    ADPC emptied: valid, and neither PARAMCD refers to a code list."""
    from trial_outcomes.plan import load_plan
    from trial_outcomes.reporting.define_xml import build_define

    folder, plan = materialized.folder, load_plan()
    schemas = {
        adam.name: OUTPUT_BY_FILE[adam.output].schema_for(plan.landmark_months, plan.subgroups)
        for adam in ADAM_DATASETS
    }
    frames = {adam.name: pl.read_parquet(folder / adam.output) for adam in ADAM_DATASETS}
    frames["ADLB"], frames["ADPC"] = frames["ADLB"].clear(), frames["ADPC"].clear()
    xml = build_define(frames, schemas, dt.date.fromisoformat(materialized.cut), "test")
    xmlschema.XMLSchema(str(DEFINE_XSD)).validate(xml.decode())
    items = {i.get("OID"): i for i in ET.fromstring(xml).iter(f"{ODM}ItemDef")}
    assert items["IT.ADLB.PARAMCD"].find(f"{ODM}CodeListRef") is None
    assert items["IT.ADPC.PARAMCD"].find(f"{ODM}CodeListRef") is None
    assert items["IT.ADRS.PARAMCD"].find(f"{ODM}CodeListRef") is not None
