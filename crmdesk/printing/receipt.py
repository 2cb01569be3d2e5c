"""A slip's lines (crmdesk/reports/slips.py) as ESC/POS bytes for a 58 or 80 mm receipt printer.

Chinese receipt printers print GB18030 (GBK for the common characters) in their Chinese character
mode, each Chinese character twice as wide as a Latin one: 32 Latin columns on a 58 mm roll, 48 on an
80 mm roll (font A, 12 dots a column). python-escpos gives the commands (alignment, bold, size, cut)
and collects the bytes in its Dummy printer; the text is encoded here, whole, because its own text
path sends GB18030 only for lines that hold a common Chinese character, without switching the printer
into Chinese mode, and code-page bytes for every other line (¥ included), which a printer in Chinese
mode would read as halves of Chinese characters. So:

* ``FS &`` switches the printer into Chinese mode once, after ``ESC @``;
* every text is GB18030, with ¥ written as the full-width ￥ (two bytes in GBK: any Chinese font has
  it, while the half-width ¥ needs GB18030's four-byte form);
* sizes use ``GS !`` (python-escpos ``custom_size``), which Chinese characters follow too; its
  ``double_width``/``double_height`` send ``ESC !``, which enlarges only the Latin characters;
* lines are laid out by columns: a character that is not ASCII takes two.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from crmdesk.db import Database
from crmdesk.printing.printers import escpos_printers, parse_address, send
from crmdesk.reports.base import ReportContext
from crmdesk.reports.documents import SlipRequest
from crmdesk.reports.slips import Centre, Line, Pair, Rule, Signature, Text, Title, check_width, slip_lines
from crmdesk.services import slips, store
from crmdesk.services.uow import Actor, read_session

COLUMNS = {58: 32, 80: 48}
CHINESE_MODE = b"\x1c\x26"  # FS &: Chinese (two-byte) characters on
ENCODING = "gb18030"


def encode(text: str) -> bytes:
    """Text as the printer reads it in Chinese mode."""
    return text.replace("¥", "￥").encode(ENCODING, errors="replace")


def columns_of(text: str) -> int:
    """How many columns the printer gives the text: two for every character that is not ASCII."""
    return sum(1 if ord(ch) < 128 else 2 for ch in text.replace("¥", "￥"))


_TOKENS = re.compile(r"[¥￥]?[!-~]+| |[^ -~]")  # a Latin word (an amount with its yuan sign), a space, or one other character


def wrap(text: str, columns: int) -> list[str]:
    """The text in lines of at most ``columns``: Latin words kept whole where they fit, Chinese broken anywhere."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for token in _TOKENS.findall(paragraph):
            if columns_of(line + token) <= columns:
                line += token
                continue
            if token == " ":
                lines.append(line)
                line = ""
                continue
            if line.strip():
                lines.append(line.rstrip())
                line = ""
            while columns_of(token) > columns:  # a word longer than the line
                cut = len(token)
                while columns_of(token[:cut]) > columns:
                    cut -= 1
                lines.append(token[:cut])
                token = token[cut:]
            line = token
        lines.append(line.rstrip())
    return lines


def pair_lines(label: str, value: str, columns: int) -> list[str]:
    """A label on the left and its value on the right; the value on a line of its own when both do not fit."""
    gap = columns - columns_of(label) - columns_of(value)
    if gap >= 1:
        return [label + " " * gap + value]
    out = wrap(label, columns)
    for part in wrap(value, columns):
        out.append(" " * (columns - columns_of(part)) + part)
    return out


def slip_bytes(lines: Sequence[Line], width_mm: int = 80) -> bytes:
    """The ESC/POS bytes that print the slip, feed it out and cut it."""
    columns = COLUMNS[check_width(width_mm)]
    printer = escpos_printers().Dummy()
    printer.hw("INIT")
    printer._raw(CHINESE_MODE)  # python-escpos's way to send bytes it has no command for

    def text(line: str) -> None:
        printer._raw(encode(line) + b"\n")

    for line in lines:
        if isinstance(line, Title):
            _style(printer, align="center", bold=True, size=2)
            for part in wrap(line.text, columns // 2):
                text(part)
            _style(printer, align="left", bold=False, size=1)
        elif isinstance(line, Centre):
            _style(printer, align="center", bold=line.strong)
            for part in wrap(line.text, columns):
                text(part)
            _style(printer, align="left", bold=False)
        elif isinstance(line, Pair):
            if line.strong:
                _style(printer, bold=True)
            for part in pair_lines(line.label, line.value, columns):
                text(part)
            if line.strong:
                _style(printer, bold=False)
        elif isinstance(line, Text):
            for part in wrap(line.text, columns):
                text(part)
        elif isinstance(line, Rule):
            text("-" * columns)
        elif isinstance(line, Signature):
            text("")
            text("")
            label = f"{line.label}: "
            text(label + "_" * max(8, columns - columns_of(label)))
    printer.cut(mode="PART")
    return bytes(printer.output)


def _style(printer: Any, *, align: str | None = None, bold: bool | None = None, size: int | None = None) -> None:
    if size is not None:  # GS !: Chinese characters grow with the Latin ones
        printer.set(custom_size=True, width=size, height=size)
    printer.set(align=align, bold=bold)


def slip_escpos(db: Database, actor: Actor, request: SlipRequest, *, now: datetime | None = None) -> bytes:
    """The ESC/POS bytes of the slip ``request`` names, read in one read-only transaction."""
    check_width(request.width_mm)
    with read_session(db) as session:
        ctx = ReportContext(store.get_store(session).store_name, actor.name, now or datetime.now(UTC))
        slip = slips.slip(session, request.kind, request.entry_id)
    return slip_bytes(slip_lines(slip, ctx), request.width_mm)


def print_slip(db: Database, actor: Actor, request: SlipRequest, address: str, *, now: datetime | None = None) -> int:
    """Print the slip on the receipt printer at ``address`` (see printers.py); how many bytes were sent."""
    target = parse_address(address)  # a mistyped address is refused before anything is read
    data = slip_escpos(db, actor, request, now=now)
    send(target, data)
    return len(data)
