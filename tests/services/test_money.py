"""The one money parser: thousands separators yes, any other comma refused as ambiguous, full-width input as typed
by Chinese input methods, and every path (purchases, filters, imports) going through it."""

from __future__ import annotations

import pytest

from crmdesk.errors import InvalidInput
from crmdesk.services import member_query, money, purchases


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("12", 1_200), ("12.5", 1_250), ("0.05", 5), ("¥123.45", 12_345), ("12.5元", 1_250),
        ("1,234", 123_400), ("12,345.60", 1_234_560), ("1,234,567", 123_456_700), ("1,234.5", 123_450),
        # Full-width digits, comma, point and yuan sign, and the ideographic full stop of Chinese punctuation mode.
        ("１２，３４５．６０", 1_234_560), ("￥１２", 1_200), ("１２。５", 1_250), ("  88  ", 8_800),
    ],
)
def test_amounts_people_write_are_read_exactly(text: str, fen: int) -> None:
    assert money.parse_yuan(text) == fen
    assert purchases.parse_yuan is money.parse_yuan  # one parser, whatever the import path


@pytest.mark.parametrize(
    ("text", "example"),
    [("12,5", "12.5"), ("1,23", "1.23"), ("12,34.5", "1234.50"), ("1,234,56", "1234.50"), ("１２，５", "12.5"), (",5", "1234.50")],
)
def test_a_comma_that_is_not_a_thousands_separator_is_refused_as_ambiguous(text: str, example: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        money.parse_yuan(text)
    assert "ambiguous" in caught.value.message and f"with a point, e.g. {example}." in caught.value.message
    assert caught.value.field == "amount"


@pytest.mark.parametrize(
    ("text", "message"),
    [("1.005", "more than two decimals"), ("十块", "not an amount in yuan"), ("1e5", "not an amount in yuan"),
     ("NaN", "not an amount in yuan"), ("12 34", "not an amount in yuan"), ("1" * 13, "not an amount in yuan"),
     ("", "Enter an amount"), ("  ", "Enter an amount")],
)
def test_other_text_is_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        money.parse_yuan(text)


def test_filters_take_the_same_rule_and_may_stay_empty() -> None:
    assert member_query.parse_yuan("") is None and member_query.parse_yuan("1,200") == 120_000
    with pytest.raises(InvalidInput, match="ambiguous") as caught:
        member_query.parse_yuan("12,5", field="spend_min")
    assert caught.value.field == "spend_min"


def test_the_sign_is_left_to_the_caller_which_refuses_it_in_its_own_words() -> None:
    assert money.parse_yuan("-12.00") == -1_200
    with pytest.raises(InvalidInput, match="more than ¥0.00"):
        purchases.check_amount(money.parse_yuan("-12.00"))
