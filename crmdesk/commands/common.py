"""Helpers shared by the command modules."""

from __future__ import annotations

import argparse
import getpass
import json
import math
import sys
from typing import Any

from crmdesk.db import Database
from crmdesk.errors import InvalidInput
from crmdesk.services import staff as staff_service
from crmdesk.services.uow import Actor, read_session
from crmdesk.texts import QT_TRANSLATE_NOOP


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """'1 row', '3 rows': a number and its noun, for the command line's plain English output."""
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def read_secret(prompt: str, from_stdin: bool) -> str:
    """A password or PIN: from standard input when asked, else typed twice at a terminal."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise InvalidInput(
            QT_TRANSLATE_NOOP("errors", "No terminal to ask for the secret: pipe it in and add --password-stdin or --pin-stdin.")
        )
    first = getpass.getpass(prompt)
    if getpass.getpass("Repeat: ") != first:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "The two entries differ; nothing was changed."))
    return first


def acting_staff(db: Database, args: argparse.Namespace) -> Actor:
    """Who the command acts as: --as NAME, else the owner."""
    with read_session(db) as session:
        return staff_service.actor_for(session, getattr(args, "as_staff", None))


# Floats in JSON output (means, rates, changes, timings) are rounded to this many decimals: the
# figures a person or a script reads, without binary-float noise such as 0.048000000000000004.
JSON_FLOAT_DECIMALS = 4


def plain_floats(value: Any) -> Any:
    """The document with every float rounded to JSON_FLOAT_DECIMALS (NaN and infinity become null)."""
    if isinstance(value, float):
        return round(value, JSON_FLOAT_DECIMALS) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: plain_floats(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain_floats(item) for item in value]
    return value


def json_text(document: Any) -> str:
    """The one way commands write JSON: UTF-8 text as it is, indented, floats without noise, other values as text."""
    return json.dumps(plain_floats(document), ensure_ascii=False, indent=2, default=str)


def print_json(document: Any) -> None:
    print(json_text(document))


def member_id_for(db: Database, key: str) -> int:
    """The member a KEY names (card number, member number or phone), or an error a person can act on."""
    from crmdesk.errors import NotFound
    from crmdesk.services import search

    with read_session(db) as session:
        found = search.lookup(session, key)
    if found.card_warning is not None:
        warning = found.card_warning
        raise NotFound(
            QT_TRANSLATE_NOOP("errors", "Card {number} is {status} (member {member_no}); use the member's current card or phone."),
            number=warning.number, status=warning.status.value, member_no=warning.member_no,
        )
    if found.member is None:
        raise NotFound(QT_TRANSLATE_NOOP("errors", "No member with the card, member number or phone {key}."), key=key)
    return found.member.id
