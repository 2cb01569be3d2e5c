"""Helpers shared by the command modules."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from crmdesk.db import Database
from crmdesk.errors import InvalidInput
from crmdesk.services import staff as staff_service
from crmdesk.services.uow import Actor, read_session
from crmdesk.texts import QT_TRANSLATE_NOOP


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


def print_json(document: Any) -> None:
    print(json.dumps(document, ensure_ascii=False, indent=2, default=str))


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
