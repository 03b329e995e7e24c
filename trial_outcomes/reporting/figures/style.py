"""The look of every figure, and SVG bytes that are the same for the same data.

Figures use matplotlib's object API (no pyplot state), DejaVu Sans, no
mathtext (``$`` in a subject id or a cause of death is text, never a formula).
They are written as SVG without a date: vector in the PDF (sharp at any zoom and
in print), text kept as text (DejaVu Sans, which Typst is given; a browser
without it uses Arial or Helvetica), and about twice as fast to write as a PNG
of print resolution, since nothing is rasterised or compressed.
"""

from __future__ import annotations

import functools
import io
from typing import Any

COLOURS = ("#1f4e79", "#c0392b", "#2e8b57", "#8e44ad", "#d35400", "#7f8c8d", "#b7950b", "#17a589")
GREY, LIGHT = "#666666", "#bbbbbb"
RC = {
    "font.family": ["DejaVu Sans", "sans-serif"],
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "svg.fonttype": "none",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "text.parse_math": False,
    "svg.hashsalt": "trial-outcomes",
    "path.simplify": True,
}


@functools.cache
def _cjk_families() -> tuple[str, ...]:
    """Register the machine's CJK font with matplotlib (``reporting.fonts``) and return
    its family names, for per-glyph fallback after DejaVu Sans; none found: the
    missing-glyph warning is silenced (page 1 of the PDF says it once)."""
    import warnings

    from matplotlib import font_manager

    from trial_outcomes.reporting.fonts import cjk_font_files

    families: list[str] = []
    for path in cjk_font_files():
        try:
            font_manager.fontManager.addfont(str(path))
            families.append(font_manager.FontProperties(fname=str(path)).get_name())
        except (OSError, RuntimeError, ValueError):
            continue
    if not families:
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font", category=UserWarning)
    return tuple(dict.fromkeys(families))


def new_figure(width: float, height: float) -> Any:
    """A figure that does not touch pyplot's global state."""
    import matplotlib

    matplotlib.rcParams.update(RC)  # type: ignore[arg-type]  # the keys are rcParams names, checked by matplotlib
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


#: the stamp of the figure this process is drawing (``render.Stamped``), or ""
STAMP = [""]


def figure_bytes(fig: Any) -> bytes:
    """The figure as SVG, without a date: the same data give the same bytes. A figure
    whose text holds Chinese, Japanese or Korean characters (a subject id 患者-035) is
    written with its text as outlines, drawn with the machine's CJK font after DejaVu
    Sans: SVG text naming a CJK font showed as empty boxes in the PDF. Every other
    figure keeps its text as text, the same bytes on every machine."""
    import matplotlib
    from matplotlib.text import Text

    from trial_outcomes.reporting.fonts import CJK

    if STAMP[0]:
        fig.text(0.995, 0.004, STAMP[0], ha="right", va="bottom", fontsize=5.5, color=GREY)
    buffer = io.BytesIO()
    texts = [t for t in fig.findobj(Text) if CJK.search(t.get_text() or "")]
    fallback = _cjk_families() if texts else ()
    if fallback:
        for text in texts:
            text.set_fontfamily(["DejaVu Sans", *fallback])
        with matplotlib.rc_context({"svg.fonttype": "path"}):
            fig.savefig(buffer, format="svg", metadata={"Date": None})
    else:
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()
