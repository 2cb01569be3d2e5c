"""Pinyin and phone search keys."""

from __future__ import annotations

import pytest

from crmdesk.services.search_keys import name_search_keys, phone_last4


@pytest.mark.parametrize(
    ("name", "keys"),
    [
        ("张三", ("zhangsan", "zs")),
        ("欧阳娜娜", ("ouyangnana", "oynn")),
        ("曾小贤", ("zengxiaoxian", "zxx")),  # surname reading, not céng
        ("单田芳", ("shantianfang", "stf")),
        ("尉迟恭", ("yuchigong", "ycg")),
        ("Anna Li", ("annali", "al")),
        ("李 Lily", ("lilily", "ll")),
        ("  ", ("", "")),
    ],
)
def test_name_keys(name: str, keys: tuple[str, str]) -> None:
    assert name_search_keys(name) == keys


def test_phone_tail() -> None:
    assert phone_last4("+8613812345678") == "5678"
    assert phone_last4("123") is None
    assert phone_last4(None) is None
