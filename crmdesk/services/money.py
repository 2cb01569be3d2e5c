"""Money typed or imported as text: the one parser of yuan amounts.

Every path that turns text into fen uses ``parse_yuan`` (also reachable as
``services.purchases.parse_yuan``) or ``parse_optional_yuan`` (a filter field
that may stay empty, ``services.member_query.parse_yuan``): the command line,
the CSV/XLSX imports and the GUI's dialogs.

What is accepted
----------------
* Digits with at most two decimals after a point: ``12``, ``12.5``, ``0.05``;
  a leading ``¥`` and a trailing ``元``; a leading minus (callers that need a
  positive amount say so with their own message, e.g. purchases.check_amount).
* Commas as thousands separators only where they group digits in threes from the
  point leftwards: ``1,234``, ``12,345.60``, ``1,234,567``. Any other comma
  (``12,5``, ``1,23``, ``12,34.5``) is refused as ambiguous -- in many places a
  comma is the decimal point, and guessing wrong records ten or a hundred times
  the money.
* Full-width characters as Chinese input methods type them are the same as their
  ASCII forms: ``１２，３４５．６０``, ``￥``, ``－``; the ideographic full stop
  ``。`` (what the point key gives in Chinese punctuation mode) is a decimal point.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from crmdesk.errors import InvalidInput
from crmdesk.texts import QT_TRANSLATE_NOOP

MSG_NOT_AN_AMOUNT = QT_TRANSLATE_NOOP("errors", "'{amount}' is not an amount in yuan (for example 100 or 99.50).")
MSG_TOO_MANY_DECIMALS = QT_TRANSLATE_NOOP("errors", "'{text}' has more than two decimals.")
MSG_AMBIGUOUS_COMMA = QT_TRANSLATE_NOOP(
    "errors",
    "'{text}' is ambiguous: a comma is read only as a thousands separator (1,234.50). "
    "Write the decimals with a point, e.g. {example}.",
)
MSG_NO_AMOUNT = QT_TRANSLATE_NOOP("errors", "Enter an amount in yuan (for example 100 or 99.50).")

MAX_YUAN = 10**12  # beyond any figure a shop writes: a pasted number, not an amount
_PLAIN = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)")
_GROUPED = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d*)?")
_DECIMAL_COMMA = re.compile(r"-?\d+,\d{1,2}")  # 12,5: most likely decimals written the European way
_WRAPPING = re.compile(r"(-?)\s*¥?\s*(.*?)\s*元?", re.DOTALL)  # sign, number
_DECIMAL_POINTS = str.maketrans({"。": "."})


def normalise(text: str) -> str:
    """Full-width digits, commas, points and signs folded to ASCII, outer spaces removed."""
    return unicodedata.normalize("NFKC", text or "").translate(_DECIMAL_POINTS).strip()


def strip_thousands(text: str) -> str | None:
    """A number's text without its thousands separators, or None when a comma is not one.

    ``text`` is already normalised; text without a comma comes back as it is."""
    if "," not in text:
        return text
    return text.replace(",", "") if _GROUPED.fullmatch(text) else None


def parse_optional_yuan(text: str | None, *, field: str = "amount") -> int | None:
    """An amount typed in yuan as fen; None when nothing was typed."""
    sign, cleaned = _WRAPPING.fullmatch(normalise(text or "")).groups()  # type: ignore[union-attr]
    if not cleaned:
        return None
    shown = (text or "").strip()
    cleaned = sign + cleaned
    plain = strip_thousands(cleaned)
    if plain is None:
        if _PLAIN.fullmatch(cleaned.replace(",", "")):
            example = cleaned.replace(",", ".") if _DECIMAL_COMMA.fullmatch(cleaned) else "1234.50"
            raise InvalidInput(MSG_AMBIGUOUS_COMMA, field=field, text=shown, example=example)
        raise InvalidInput(MSG_NOT_AN_AMOUNT, field=field, amount=shown)
    if not _PLAIN.fullmatch(plain):
        raise InvalidInput(MSG_NOT_AN_AMOUNT, field=field, amount=shown)
    value = Decimal(plain)
    if abs(value) >= MAX_YUAN:
        raise InvalidInput(MSG_NOT_AN_AMOUNT, field=field, amount=shown)
    if value != value.quantize(Decimal("0.01")):
        raise InvalidInput(MSG_TOO_MANY_DECIMALS, field=field, text=shown)
    return int(value * 100)


def parse_yuan(text: str | None, *, field: str = "amount") -> int:
    """'123.45' -> 12345 fen, by the rules above; nothing typed is an error."""
    fen = parse_optional_yuan(text, field=field)
    if fen is None:
        raise InvalidInput(MSG_NO_AMOUNT, field=field)
    return fen
