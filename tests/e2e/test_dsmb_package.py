"""The DSMB package on a drop with the optional apheresis file (issue 26), end to end:
it is read, validated and published; the report's disposition has the product table;
the sample, without the file, says what the section needs (tests/assets)."""

from __future__ import annotations

import pytest

from tests.analysis.test_product import _trial
from tests.helpers import materialize_cut, qc_disagreements

pytestmark = pytest.mark.slow


def test_a_drop_with_the_apheresis_file_publishes_its_product_table(tmp_path):
    t = _trial()
    t.assess("S1", 28, "CR", 0.0).assess("S3", 28, "NR", 30.0)
    drop = t.write_drop(tmp_path / "drop")
    assert (drop / "apheresis.csv").is_file()
    result, cut = materialize_cut(drop, tmp_path / "out", "2021-03-01")
    assert result.success, [e.message for e in result.get_step_failure_events()]
    html = (tmp_path / "out" / cut / "report.html").read_text()
    assert "Intention to treat: leukapheresis, product and infusion" in html
    assert "25 (20-30)" in html  # vein-to-vein: 30 and 20 days (tests/analysis/test_product.py)
    assert not qc_disagreements(tmp_path / "out" / cut)
