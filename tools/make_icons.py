"""Render the app icon (resources/icons/crmdesk.svg) to the PNG and ICO files the packaged app uses.

Run after changing the SVG: `.venv/bin/python tools/make_icons.py`. The outputs are committed,
so building the package needs neither Qt's SVG renderer nor Pillow's ICO writer at build time.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
ICO_SIZES = [(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)]


def render(size: int) -> Image.Image:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(str(ICONS / "crmdesk.svg")).render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return Image.open(io.BytesIO(bytes(data))).convert("RGBA")


def main() -> int:
    app = QGuiApplication(sys.argv[:1])  # noqa: F841 - painting needs an application
    largest = render(256)
    largest.save(ICONS / "crmdesk.png")
    largest.save(ICONS / "crmdesk.ico", sizes=ICO_SIZES)
    print(f"wrote {ICONS / 'crmdesk.png'} and {ICONS / 'crmdesk.ico'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
