"""The look of every figure, and PNG bytes that are the same for the same data.

Figures use matplotlib's object API (no pyplot state), DejaVu Sans, no
mathtext (``$`` in a subject id or a cause of death is text, never a formula)
and PNGs without a software or date stamp.
"""

from __future__ import annotations

import io
from typing import Any

DPI = 130
COLOURS = ("#1f4e79", "#c0392b", "#2e8b57", "#8e44ad", "#d35400", "#7f8c8d", "#b7950b", "#17a589")
GREY, LIGHT = "#666666", "#bbbbbb"
RC = {
    "font.family": "DejaVu Sans",
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

    matplotlib.rcParams.update(RC)
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def png_bytes(fig: Any, dpi: int = DPI) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def thumbnail(png: bytes, scale: float = 0.5) -> bytes:
    """A smaller copy of a figure for the Dagster UI (its event log keeps every image):
    half size, 64-colour palette."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    small = image.resize((int(image.width * scale), int(image.height * scale)), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    small.quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
