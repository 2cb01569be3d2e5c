"""The font every report prints with: bundled, embedded, with Chinese glyphs.

Reports must print Chinese names on any PC, so they never rely on fonts of the
machine that opens the PDF: the bundled TrueType font is embedded (subset) in
every document.
"""

from __future__ import annotations

from functools import cache

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from crmdesk.paths import resource_path

REPORT_FONT = "CrmdeskSans"
FONT_FILE = ("fonts", "wqy-microhei.ttc")


@cache
def report_font() -> str:
    """Register the bundled font with reportlab once and return its name."""
    pdfmetrics.registerFont(TTFont(REPORT_FONT, str(resource_path(*FONT_FILE)), subfontIndex=0))
    return REPORT_FONT
