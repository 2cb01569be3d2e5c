"""Reading the PDFs the reports produce: text per page, fonts, pages as images, barcodes."""

from __future__ import annotations

import io
from typing import Any

import pypdf
import pypdfium2 as pdfium
import zxingcpp


def page_texts(pdf: bytes) -> list[str]:
    """The text of every page, as a reader's copy-and-paste would give it."""
    document = pdfium.PdfDocument(pdf)
    try:
        texts = []
        for page in document:
            text_page = page.get_textpage()
            texts.append(text_page.get_text_range())
            text_page.close()
            page.close()
        return texts
    finally:
        document.close()


def all_text(pdf: bytes) -> str:
    return "\n".join(page_texts(pdf))


def fonts(pdf: bytes) -> dict[str, bool]:
    """Every font the pages use, by base name, and whether its glyphs are embedded in the file."""
    found: dict[str, bool] = {}
    for page in pypdf.PdfReader(io.BytesIO(pdf)).pages:
        resources = page.get("/Resources")
        if resources is None:
            continue
        for font in (resources.get_object().get("/Font") or {}).values():
            _collect(font.get_object(), found)
    return found


def _collect(font: Any, found: dict[str, bool]) -> None:
    name = str(font.get("/BaseFont", "?"))
    descendants = font.get("/DescendantFonts")
    if descendants is not None:
        for child in descendants.get_object():
            _collect(child.get_object(), found)
        return
    descriptor = font.get("/FontDescriptor")
    embedded = descriptor is not None and any(
        key in descriptor.get_object() for key in ("/FontFile", "/FontFile2", "/FontFile3")
    )
    found[name] = found.get(name, False) or embedded


def page_count(pdf: bytes) -> int:
    return len(pypdf.PdfReader(io.BytesIO(pdf)).pages)


def page_image(pdf: bytes, index: int = 0, dpi: int = 200) -> Any:
    """One page as a PIL image at ``dpi`` (what a printer or a scanner camera would see)."""
    document = pdfium.PdfDocument(pdf)
    try:
        page = document[index]
        image = page.render(scale=dpi / 72).to_pil()
        page.close()
        return image
    finally:
        document.close()


def barcodes(image: Any) -> list[tuple[str, str]]:
    """(format, text) of every barcode or QR code found in the image."""
    return [(result.format.name, result.text) for result in zxingcpp.read_barcodes(image)]
