"""Fonts beyond the packaged DejaVu Sans: a CJK font for Chinese, Japanese and Korean
text from a drop (ids such as 患者-035), found on the machine, for the PDF (Typst)
and the figures (matplotlib's per-glyph fallback); without one, page 1 of the PDF
says so and the figures' missing-glyph warnings are not repeated per figure."""

from __future__ import annotations

import os
import re
from pathlib import Path

#: Chinese, Japanese and Korean text (a GB18030 export's ids such as 患者-035)
CJK = re.compile(r"[\u2e80-\u2fdf\u3000-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
#: where Debian's CJK font packages put their fonts (fonts-wqy-microhei, fonts-noto-cjk, fonts-arphic-uming);
#: TRIAL_CJK_FONT_DIR names another folder
CJK_FONT_DIRS = (
    "/usr/share/fonts/truetype/wqy",
    "/usr/share/fonts/opentype/noto",
    "/usr/share/fonts/truetype/arphic",
)
CJK_FAMILIES = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "AR PL UMing CN")
NO_CJK_FONT = (
    "This report holds Chinese, Japanese or Korean characters (in subject ids or text from the drop), but "
    "no CJK font was found on this machine: in this PDF and its figures they show as empty boxes. The HTML "
    "report shows them. Install Debian's fonts-wqy-microhei or fonts-noto-cjk (or set TRIAL_CJK_FONT_DIR) "
    "and run again."
)


def cjk_font_files() -> list[Path]:
    """The font files of ``cjk_font_dir``, sorted (none when there is no CJK font)."""
    folder = cjk_font_dir()
    if folder is None:
        return []
    return sorted(p for p in Path(folder).glob("*") if p.suffix.lower() in (".ttf", ".ttc", ".otf"))


def cjk_font_dir() -> str | None:
    """The first folder holding a CJK font, or None."""
    named = os.environ.get("TRIAL_CJK_FONT_DIR", "")
    for folder in ([named] if named else []) + list(CJK_FONT_DIRS):
        fonts = [p for p in Path(folder).glob("*") if p.suffix.lower() in (".ttf", ".ttc", ".otf")] if folder else []
        if fonts:
            return folder
    return None
