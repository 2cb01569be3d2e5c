"""Mainland mobiles are read by the phonenumbers metadata's own pattern first (imports read thousands of them):
that shortcut must accept exactly the numbers the full parse accepts, and give the same E.164 text."""

from __future__ import annotations

import phonenumbers
from hypothesis import given, settings
from hypothesis import strategies as st

from crmdesk.errors import InvalidInput
from crmdesk.services import members


def full_parse(digits: str) -> str | None:
    try:
        number = phonenumbers.parse(digits, "CN")
    except phonenumbers.NumberParseException:
        return None
    mobile = phonenumbers.number_type(number) in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) if phonenumbers.is_valid_number(number) and mobile else None


@settings(max_examples=300)
@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_the_shortcut_agrees_with_the_full_parse(rest: str) -> None:
    digits = "1" + rest
    expected = full_parse(digits)
    try:
        got = members.normalize_phone(digits)
    except InvalidInput:
        got = None
    assert got == expected


def test_spaces_dashes_and_wide_digits_take_the_shortcut_too() -> None:
    assert members.normalize_phone("138 1234-5678") == members.normalize_phone("１３８１２３４５６７８") == "+8613812345678"


@settings(max_examples=100)
@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_with_the_country_code_too(rest: str) -> None:
    digits = "1" + rest
    try:
        got = members.normalize_phone("+86 " + digits)
    except InvalidInput:
        got = None
    assert got == full_parse(digits)
    assert members.normalize_phone("+852 6123 4567") == "+85261234567"  # other regions still take the full parse
