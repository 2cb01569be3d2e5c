"""Membership card numbers.

Cards the shop issues carry EAN-13 numbers in the GS1 "restricted circulation"
range 20-29, which GS1 reserves for numbers used only inside one company, so
they can never clash with a product barcode and every till scanner reads them:

    29 0000000123 7
    |  |          `- check digit (EAN-13, computed by python-stdnum)
    |  `- serial, zero-padded to 10 digits
    `- two-digit in-store prefix (store setting ``card_prefix``, default "29")

Cards imported from an old system keep their own numbers and are not checked.
"""

from __future__ import annotations

from stdnum import ean

from crmdesk.errors import InvalidInput
from crmdesk.texts import QT_TRANSLATE_NOOP

DEFAULT_CARD_PREFIX = "29"
SERIAL_DIGITS = 10
MIN_SERIAL = 1
MAX_SERIAL = 10**SERIAL_DIGITS - 1
CARD_NUMBER_LENGTH = 2 + SERIAL_DIGITS + 1
# GS1 in-store prefixes: numbers starting 20-29 are never assigned to products.
IN_STORE_PREFIXES = frozenset(str(n) for n in range(20, 30))


def _is_ascii_digits(text: str) -> bool:
    # str.isdigit() also accepts "²" and full-width digits, which no scanner produces.
    return text.isascii() and text.isdigit()


def make_card_number(prefix: str, serial: int) -> str:
    """The EAN-13 number of the card with this serial, e.g. ("29", 1) -> "2900000000018"."""
    if not isinstance(prefix, str) or prefix not in IN_STORE_PREFIXES:
        raise InvalidInput(
            QT_TRANSLATE_NOOP(
                "errors",
                "The card number prefix must be two digits from 20 to 29 (GS1 in-store numbers), not '{prefix}'.",
            ),
            field="card_prefix",
            prefix=prefix,
        )
    # bool is an int subclass; True as a serial is a bug, not card number 1.
    if not isinstance(serial, int) or isinstance(serial, bool) or not MIN_SERIAL <= serial <= MAX_SERIAL:
        raise InvalidInput(
            QT_TRANSLATE_NOOP("errors", "A card serial must be a whole number from {low} to {high}, not {serial}."),
            field="serial",
            low=MIN_SERIAL,
            high=MAX_SERIAL,
            serial=serial,
        )
    body = f"{prefix}{serial:0{SERIAL_DIGITS}d}"
    return body + ean.calc_check_digit(body)


def is_valid_issued_number(number: str) -> bool:
    """Whether ``number`` is exactly a number crmdesk could have issued: 13 plain
    digits, an in-store prefix and a correct check digit.

    Stricter than ``ean.is_valid``, which also accepts EAN-8/UPC/GTIN-14 and
    strips spaces and dashes."""
    return (
        isinstance(number, str)
        and len(number) == CARD_NUMBER_LENGTH
        and _is_ascii_digits(number)
        and number[:2] in IN_STORE_PREFIXES
        and ean.is_valid(number)
    )
