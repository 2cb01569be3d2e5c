"""`crmdesk card issue|replace|lost`: membership cards from the command line."""

from __future__ import annotations

import argparse

from crmdesk.commands.common import acting_staff, print_json
from crmdesk.commands.members import resolve_member
from crmdesk.db import Database
from crmdesk.errors import NotFound
from crmdesk.services import cards as cards_service
from crmdesk.services import members as members_service
from crmdesk.services import search as search_service
from crmdesk.services.uow import unit_of_work
from crmdesk.texts import QT_TRANSLATE_NOOP


def register(add_command) -> None:  # type: ignore[no-untyped-def]
    card = add_command("card", "issue, replace and report membership cards lost", None)
    actions = card.add_subparsers(dest="card_command", metavar="ACTION", required=True)
    issue = add_command("issue", "give a member a card: the blank card scanned, or a new number", run_issue, actions)
    issue.add_argument("key", metavar="KEY", help="the member's number or phone (or a working card)")
    issue.add_argument("--number", metavar="N", help="the blank card's number; without it crmdesk makes one")
    issue.add_argument("--json", action="store_true", help="print the result as JSON")
    replace = add_command("replace", "a new card for a worn or lost one; the old number stops working", run_replace, actions)
    replace.add_argument("key", metavar="KEY", help="the member's number, phone or working card")
    replace.add_argument("--number", metavar="N", help="the new blank card's number; without it crmdesk makes one")
    replace.add_argument("--json", action="store_true", help="print the result as JSON")
    lost = add_command("lost", "stop a lost card at once; scanning it later shows a warning", run_lost, actions)
    lost.add_argument("number", metavar="NUMBER", help="the lost card's number")
    lost.add_argument("--json", action="store_true", help="print the result as JSON")


def _done(args: argparse.Namespace, document: dict[str, object], text: str) -> int:
    if args.json:
        print_json(document)
    else:
        print(text)
    return 0


def run_issue(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    with unit_of_work(db) as session:
        member = resolve_member(session, args.key)
        number = cards_service.issue(session, actor, member.id, args.number or None)
    return _done(
        args,
        {"member_no": member.member_no, "name": member.name, "card": number},
        f"Issued card {number} to {member.name} ({member.member_no}).",
    )


def run_replace(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    with unit_of_work(db) as session:
        member = resolve_member(session, args.key)
        active = members_service.profile(session, member.id, recent_visits=0).active_card
        number = cards_service.replace_card(session, actor, member.id, args.number or None)
    old = active.number if active else None
    return _done(
        args,
        {"member_no": member.member_no, "name": member.name, "card": number, "replaced": old},
        f"Card {number} issued to {member.name} ({member.member_no})" + (f"; card {old} no longer works." if old else "."),
    )


def run_lost(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    number = "".join(args.number.split())
    with unit_of_work(db) as session:
        found = search_service.lookup(session, number)
        if found.matched_by is not search_service.MatchedBy.CARD:
            raise NotFound(QT_TRANSLATE_NOOP("errors", "No card with the number {number}."), number=number)
        cards_service.report_lost(session, actor, number)
    member = found.member
    assert member is not None  # a card that stopped already is refused by report_lost
    return _done(
        args,
        {"member_no": member.member_no, "name": member.name, "card": number, "status": "lost"},
        f"Card {number} of {member.name} ({member.member_no}) is reported lost; scanning it now shows a warning. "
        f"Replace it with: crmdesk card replace {member.member_no}",
    )
