"""Card numbers: EAN-13 in the GS1 in-store range."""

from __future__ import annotations

import pytest

from crmdesk.errors import InvalidInput
from crmdesk.services.cards import is_valid_issued_number, make_card_number


@pytest.mark.parametrize(
    ("prefix", "serial", "expected"),
    [
        # Check digits worked out by hand with the EAN weights 3,1,3,... from the right.
        ("29", 1, "2900000000018"),
        ("20", 1234567890, "2012345678903"),
        ("29", 9_999_999_999, "2999999999991"),
        ("25", 42, "2500000000423"),
    ],
)
def test_known_check_digits(prefix: str, serial: int, expected: str) -> None:
    assert make_card_number(prefix, serial) == expected
    assert is_valid_issued_number(expected)


def test_numbers_are_thirteen_digits_and_distinct() -> None:
    numbers = {make_card_number("29", serial) for serial in range(1, 2001)}
    assert len(numbers) == 2000
    assert all(len(n) == 13 and n.startswith("29") and is_valid_issued_number(n) for n in numbers)


@pytest.mark.parametrize("prefix", ["", "2", "290", "19", "30", "00", "4x", "２９", "²9", None])
def test_bad_prefix_is_refused(prefix: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        make_card_number(prefix, 1)  # type: ignore[arg-type]
    assert caught.value.field == "card_prefix"
    assert "20 to 29" in caught.value.message


@pytest.mark.parametrize("serial", [0, -1, 10**10, 10**12, True, 1.0, "1"])
def test_serial_that_does_not_fit_is_refused(serial: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        make_card_number("29", serial)  # type: ignore[arg-type]
    assert caught.value.field == "serial"
    assert str(serial) in caught.value.message


@pytest.mark.parametrize(
    "number",
    [
        "2900000000017",  # wrong check digit
        "290000000001",  # twelve digits
        "29000000000180",  # fourteen digits
        "4006381333931",  # a valid EAN-13, but a product number, not an in-store one
        "290-000000001-8",  # ean.is_valid would accept this after stripping dashes
        " 2900000000018",
        "２９００００００００018",  # full-width digits
        "96385074",  # a valid EAN-8
        "",
    ],
)
def test_numbers_not_issued_by_us_are_invalid(number: str) -> None:
    assert not is_valid_issued_number(number)
