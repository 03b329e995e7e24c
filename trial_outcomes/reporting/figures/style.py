"""The look of every figure, and SVG bytes that are the same for the same data.

Figures use matplotlib's object API (no pyplot state), DejaVu Sans, no
mathtext (``$`` in a subject id or a cause of death is text, never a formula).
They are written as SVG without a date: vector in the PDF (sharp at any zoom and
in print), text kept as text (DejaVu Sans, which Typst is given; a browser
without it uses Arial or Helvetica), and about twice as fast to write as a PNG
of print resolution, since nothing is rasterised or compressed.
"""

from __future__ import annotations

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


def new_figure(width: float, height: float) -> Any:
    """A figure that does not touch pyplot's global state."""
    import matplotlib

    matplotlib.rcParams.update(RC)  # type: ignore[arg-type]  # the keys are rcParams names, checked by matplotlib
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def figure_bytes(fig: Any) -> bytes:
    """The figure as SVG, without a date: the same data give the same bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()
