"""Reports embed a font that prints Chinese."""

from __future__ import annotations

from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas

from crmdesk.reports.fonts import report_font


def test_chinese_text_prints_with_the_embedded_bundled_font(tmp_path: Path) -> None:
    target = tmp_path / "font.pdf"
    pdf = canvas.Canvas(str(target))
    pdf.setFont(report_font(), 14)
    pdf.drawString(72, 720, "会员 张三 Zhang San ¥12.50")
    pdf.save()
    data = target.read_bytes()
    assert b"/FontFile2" in data  # TrueType program embedded in the PDF
    assert b"WenQuanYi" in data or b"CrmdeskSans" in data



def test_the_font_has_glyphs_for_common_names_and_money() -> None:
    face = pdfmetrics.getFont(report_font()).face
    text = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗欧阳娜娜会员积分投诉¥0123456789AZaz"
    assert [ch for ch in text if ord(ch) not in face.charToGlyph] == []
