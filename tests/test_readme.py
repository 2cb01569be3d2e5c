"""The README's command examples fit the demo store it tells you to create first."""

from __future__ import annotations

import re
from pathlib import Path

from crmdesk.services import cards, demo

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def test_the_example_blank_card_is_never_one_the_demo_issues() -> None:
    numbers = re.findall(r"--card (\d+)", README)
    assert numbers
    for number in numbers:
        assert cards.is_valid_issued_number(number)
        # The demo numbers its cards 1, 2, 3 ... in its prefix, at most two a member (one replaced).
        assert int(number[2:12]) > 2 * demo.MAX_MEMBERS, number


def test_the_example_staff_account_is_not_one_the_demo_makes() -> None:
    added = re.findall(r"crmdesk staff add (\S+)", README)
    assert added and not set(added) & {demo.DEMO_OWNER_NAME, *(name for name, _role, _pin in demo.DEMO_STAFF)}


def test_the_rejects_file_is_named_as_it_is_written() -> None:
    from crmdesk.services.imports import rejects_path

    assert "old-system.rejected.csv" in README and rejects_path("old-system.csv").name == "old-system.rejected.csv"
    assert "FILE.rejected.csv" not in README
