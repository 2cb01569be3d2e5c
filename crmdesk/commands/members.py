"""`crmdesk member add|show|search|update|export-data|erase`: members from the command line.

KEY is what the counter accepts as an exact key: a card number, a member number
or a phone number (services.search.lookup). JSON output is plain data: dates in
ISO 8601 (timestamps in UTC), enums as their values, money in fen and in yuan
(a string with two decimals, never a float).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from crmdesk import shop_time
from crmdesk.commands.common import acting_staff, member_id_for, print_json
from crmdesk.db import Database
from crmdesk.errors import Conflict, InvalidInput, NotFound
from crmdesk.models import CardStatus, Gender, MemberStatus
from crmdesk.services import members as members_service
from crmdesk.services import search as search_service
from crmdesk.services.members import DuplicateMember, MemberBrief, MemberInput, MemberProfile, display_phone
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.shop_time import format_time
from crmdesk.texts import QT_TRANSLATE_NOOP

MAX_SEARCH_LIMIT = 200
# What `member update` changes besides the status (keys of the member document).
UPDATABLE = ("name", "phone", "gender", "birthday", "address", "email", "tags", "notes")


def register(add_command) -> None:  # type: ignore[no-untyped-def]
    member = add_command("member", "register, show, find and change members", None)
    actions = member.add_subparsers(dest="member_command", metavar="ACTION", required=True)

    add = add_command("add", "register a member (phone and name; optionally the blank card handed out)", run_add, actions)
    add.add_argument("--name", required=True, help="the member's name")
    add.add_argument("--phone", required=True, help="mobile number; +country code outside the mainland")
    add.add_argument("--gender", choices=[g.value for g in Gender], default=Gender.UNKNOWN.value,
                     help="default: unknown")
    add.add_argument("--birthday", metavar="DATE", help="e.g. 1985-06-02, 1985/6/2, 19850602 or 1985年6月2日")
    add.add_argument("--tags", metavar="A,B", help="comma-separated tags")
    add.add_argument("--card", metavar="NUMBER", help="the blank card handed out with the membership")
    add.add_argument("--force-similar", action="store_true",
                     help="register even though a member with a similar name and the same birthday exists")
    add.add_argument("--json", action="store_true", help="print the new member as JSON")

    show = add_command("show", "show a member by card number, member number or phone", run_show, actions)
    show.add_argument("key", metavar="KEY", help="card number, member number or phone")
    show.add_argument("--json", action="store_true", help="print the member, points and totals as JSON")

    find = add_command("search", "the ranked matches the counter shows for what was typed", run_search, actions)
    find.add_argument("query", metavar="QUERY",
                      help="a card, a phone or its last four digits, a name, pinyin or its initials (zs finds 张三)")
    find.add_argument("--limit", type=int, default=search_service.DEFAULT_LIMIT, metavar="N",
                      help=f"at most this many matches (default: {search_service.DEFAULT_LIMIT})")
    find.add_argument("--json", action="store_true", help="print the matches as JSON")

    update = add_command("update", "change a member's details or status (every change is kept in the history)", run_update, actions)
    update.add_argument("key", metavar="KEY", help="card number, member number or phone")
    update.add_argument("--name", help="the new name")
    update.add_argument("--phone", help="the new mobile number")
    update.add_argument("--gender", choices=[g.value for g in Gender], help="the gender")
    update.add_argument("--birthday", metavar="DATE", help="e.g. 1985-06-02, 1985/6/2, 19850602 or 1985年6月2日; an empty value removes it")
    update.add_argument("--address", help="the new address; an empty value removes it")
    update.add_argument("--email", help="the new e-mail address; an empty value removes it")
    update.add_argument("--tags", metavar="A,B", help="the new comma-separated tags; an empty value removes them all")
    update.add_argument("--notes", help="the new notes; an empty value removes them")
    update.add_argument("--status", choices=[s.value for s in MemberStatus], help="freeze, close or reopen (supervisor or owner)")
    update.add_argument("--reason", metavar="TEXT", help="why the status changes")
    update.add_argument("--json", action="store_true", help="print the member as changed, as JSON")

    export_data = add_command("export-data", "write a member's copy of everything held on them: a JSON file and a PDF "
                                             "(个人信息保护法; supervisor or owner)", run_export_data, actions)
    export_data.add_argument("key", metavar="KEY", help="card number, member number or phone")
    export_data.add_argument("--out", required=True, metavar="DIR",
                             help="the folder to write both files into (named with the member number and today's date)")
    export_data.add_argument("--json", action="store_true", help="print the two files written as JSON")

    erase = add_command("erase", "erase a member's personal data on their request (owner only; the purchases and ledgers stay)",
                        run_erase, actions)
    erase.add_argument("key", metavar="KEY", help="card number, member number or phone")
    erase.add_argument("--yes", action="store_true",
                       help="do not ask to type the member's name (for scripts); without it a terminal is needed")


# --------------------------------------------------------------------------- shared with commands/cards.py


def resolve_member(session: Session, key: str) -> MemberBrief:
    """The member a KEY names, or an error; a card that stopped working is an error naming its state."""
    found = search_service.lookup(session, key)
    if found.card_warning is not None:
        warning = found.card_warning
        raise Conflict(
            QT_TRANSLATE_NOOP(
                "errors",
                "Card {number} is {status} (since {date}) and no longer opens member {name} ({member_no}). "
                "Use the member number or phone.",
            ),
            number=warning.number,
            status=warning.status.value,
            date=_local(warning.ended_at)[:10] if warning.ended_at else "?",
            name=warning.member_name,
            member_no=warning.member_no,
        )
    if found.member is None:
        raise NotFound(
            QT_TRANSLATE_NOOP("errors", "No member has the card number, member number or phone '{key}'."), key=key.strip()
        )
    return found.member


def yuan(fen: int) -> str:
    """Fen as a yuan amount with two decimals, exactly: 123456 -> "1234.56"."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _local(value: datetime | None) -> str:
    """A stored UTC time on the shop's clock, for people to read."""
    return format_time(value)


def money(fen: int) -> dict[str, Any]:
    return {"fen": fen, "yuan": yuan(fen)}


def brief_document(brief: MemberBrief) -> dict[str, Any]:
    return {
        "id": brief.id,
        "member_no": brief.member_no,
        "name": brief.name,
        "phone": brief.phone,
        "phone_display": display_phone(brief.phone),
        "status": brief.status.value,
        "tier": brief.tier_name or None,
        "points_balance": brief.points_balance,
        "card_number": brief.card_number,
        "last_visit_at": _iso(brief.last_visit_at),
    }


def status_warnings(profile: MemberProfile) -> list[str]:
    """What the counter warns about, as stable codes: frozen, closed, lost_card."""
    warnings = []
    if profile.status is MemberStatus.FROZEN:
        warnings.append("frozen")
    if profile.status is MemberStatus.CLOSED:
        warnings.append("closed")
    if profile.lost_cards:
        warnings.append("lost_card")
    return warnings


def member_document(profile: MemberProfile, today: date | None = None) -> dict[str, Any]:
    today = today or shop_time.today()
    active = profile.active_card
    return {
        "id": profile.id,
        "member_no": profile.member_no,
        "name": profile.name,
        "phone": profile.phone,
        "phone_display": display_phone(profile.phone),
        "gender": profile.gender.value,
        "birthday": _iso(profile.birthday),
        "birthday_this_month": profile.birthday_in_month(today),
        "address": profile.address,
        "email": profile.email,
        "company": profile.company,
        "tags": list(profile.tags),
        "notes": profile.notes,
        "marketing_consent": profile.marketing_consent.value,
        "consent_at": _iso(profile.consent_at),
        "joined_on": _iso(profile.joined_on),
        "source": profile.source,
        "status": profile.status.value,
        "warnings": status_warnings(profile),
        "tier": {"name": profile.tier_name, "colour": profile.tier_colour} if profile.tier_name else None,
        "points_balance": profile.points_balance,
        "totals": {
            "visits": profile.visit_count,
            "spend": money(profile.total_spend_fen),
            "average_basket": money(profile.average_basket_fen),
            "last_visit_at": _iso(profile.last_visit_at),
        },
        "open_complaints": profile.open_complaints,
        "active_card": active.number if active else None,
        "cards": [
            {
                "number": card.number,
                "status": card.status.value,
                "imported": card.imported,
                "issued_at": _iso(card.issued_at),
                "ended_at": _iso(card.ended_at),
            }
            for card in profile.cards
        ],
        "recent_visits": [
            {
                "occurred_at": _iso(visit.occurred_at),
                "till": visit.till,
                "receipt_no": visit.receipt_no,
                "kind": "refund" if visit.refund else "sale",
                "amount": money(visit.amount_fen),
            }
            for visit in profile.recent_visits
        ],
    }


def print_member(profile: MemberProfile) -> None:
    """The member for a person to read."""
    document = member_document(profile)
    print(f"{profile.name}  {profile.member_no}  [{profile.status.value}]")
    rows = [
        ("phone", display_phone(profile.phone)),
        ("tier", profile.tier_name),
        ("points", f"{profile.points_balance:,}"),
        ("card", profile.active_card.number if profile.active_card else "-"),
        ("birthday", (profile.birthday.isoformat() if profile.birthday else "")
         + ("  (this month)" if document["birthday_this_month"] else "")),
        ("tags", ", ".join(profile.tags)),
        ("visits", f"{profile.visit_count:,}, spend ¥{yuan(profile.total_spend_fen)}, last {_local(profile.last_visit_at) or '-'}"),
        ("complaints", f"{profile.open_complaints} open"),
        ("warnings", ", ".join(document["warnings"])),
    ]
    for label, value in rows:
        if value:
            print(f"  {label + ':':<12}{value}")
    for card in profile.cards:
        if card.status is not CardStatus.ACTIVE:
            print(f"  {'old card:':<12}{card.number} {card.status.value} {_local(card.ended_at)}")
    for visit in profile.recent_visits:
        kind = "refund" if visit.refund else "sale"
        print(f"  {'visit:':<12}{_local(visit.occurred_at)}  {kind:<6} ¥{yuan(visit.amount_fen):>10}  {visit.till} {visit.receipt_no}")


def report_duplicate(exc: DuplicateMember) -> int:
    """A duplicate refusal with the members it clashes with, on stderr."""
    print(f"crmdesk: {exc.message}", file=sys.stderr)
    for brief in exc.existing:
        card = f" card {brief.card_number}" if brief.card_number else ""
        print(f"  existing: {brief.member_no} {brief.name} {display_phone(brief.phone)}{card} [{brief.status.value}]", file=sys.stderr)
    if not exc.blocking:
        print("  If this is someone else, run the command again with --force-similar.", file=sys.stderr)
    return exc.exit_code


# --------------------------------------------------------------------------- handlers


def run_add(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    data = MemberInput(
        name=args.name,
        phone=args.phone,
        gender=Gender(args.gender),
        birthday=members_service.parse_birthday(args.birthday),
        tags=(args.tags,) if args.tags else (),
        source="cli",
    )
    try:
        with unit_of_work(db) as session:
            profile = members_service.register(
                session, actor, data, card_number=args.card or None, confirm_similar=args.force_similar
            )
    except DuplicateMember as exc:
        return report_duplicate(exc)
    if args.json:
        print_json(member_document(profile))
    else:
        card = f" with card {profile.active_card.number}" if profile.active_card else ""
        print(f"Registered {profile.name} as {profile.member_no}{card}.")
    return 0


def run_show(db: Database, args: argparse.Namespace) -> int:
    with read_session(db) as session:
        brief = resolve_member(session, args.key)
        profile = members_service.profile(session, brief.id)
    if args.json:
        document = member_document(profile)
        with read_session(db) as session:
            document["points"] = _points_document(session, profile.id)
            document.update(_insight_document(session, profile.id))
        print_json(document)
    else:
        print_member(profile)
    return 0


def _points_document(session, member_id: int) -> dict:  # type: ignore[no-untyped-def]
    """Balance, what expires next, and the 12-month spend that decides the tier."""
    from datetime import date, datetime, timezone

    from crmdesk.services import loyalty

    lots = loyalty.open_lots(session, member_id)
    upcoming = [lot for lot in lots if lot.expires_on != date.max]
    first = upcoming[0] if upcoming else None
    return {
        "balance": sum(lot.points for lot in lots),
        "expiring_next": {"points": first.points, "on": first.expires_on.isoformat()} if first else None,
        "lots": [{"points": lot.points, "expires_on": lot.expires_on.isoformat()} for lot in upcoming],
        "spend_12_months": money(loyalty.spend_12_months(session, member_id, datetime.now(timezone.utc))),
    }


def _insight_document(session, member_id: int) -> dict:  # type: ignore[no-untyped-def]
    """RFM, ABC class, stage, churn alert and the purchase model's estimates at the last refresh (all null before
    one, or for a member who never bought)."""
    from crmdesk.services import insight_figures

    figures = insight_figures.member_figures(session, member_id)
    keys = ("insight_as_of", "recency_days", "frequency", "monetary_fen", "r_score", "f_score", "m_score", "segment",
            "abc_class", "stage", "typical_gap_days", "alert", "alert_reason", "p_alive", "expected_purchases",
            "expected_value_fen")
    return figures.to_json() if figures is not None else dict.fromkeys(keys)


def run_search(db: Database, args: argparse.Namespace) -> int:
    if not 1 <= args.limit <= MAX_SEARCH_LIMIT:
        raise InvalidInput(
            QT_TRANSLATE_NOOP("errors", "--limit must be from 1 to {count}."), field="limit", count=MAX_SEARCH_LIMIT
        )
    with read_session(db) as session:
        exact = search_service.lookup(session, args.query)
        hits = search_service.search(session, args.query, limit=args.limit)
    warning = exact.card_warning
    if args.json:
        print_json({
            "query": args.query,
            "card_warning": None if warning is None else {
                "number": warning.number,
                "status": warning.status.value,
                "ended_at": _iso(warning.ended_at),
                "member_name": warning.member_name,
                "member_no": warning.member_no,
            },
            "matches": [
                {"rank": rank, "matched_by": hit.matched_by.value, **brief_document(hit.member)}
                for rank, hit in enumerate(hits, start=1)
            ],
        })
        return 0
    if warning is not None:
        print(f"! card {warning.number} is {warning.status.value} since {_local(warning.ended_at)} "
              f"({warning.member_name}, {warning.member_no}); it does not open the member")
    for hit in hits:
        member = hit.member
        print("\t".join((member.member_no, member.name, display_phone(member.phone), member.card_number or "-",
                         member.tier_name or "-", str(member.points_balance), member.status.value, hit.matched_by.value)))
    if not hits and warning is None:
        print("No matches.", file=sys.stderr)
    return 0


def run_update(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    changes: dict[str, Any] = {}
    for option in ("name", "phone", "address", "email", "notes"):  # plain text options
        value = getattr(args, option)
        if value is not None:
            changes[option] = value
    if args.gender is not None:
        changes["gender"] = Gender(args.gender)
    if args.birthday is not None:
        changes["birthday"] = members_service.parse_birthday(args.birthday)
    if args.tags is not None:
        changes["tags"] = (args.tags,) if args.tags.strip() else ()
    if args.reason is not None and args.status is None:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "--reason goes with --status."), field="reason")
    if not changes and args.status is None:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Nothing to change: give at least one option such as --name or --status."))
    try:
        with unit_of_work(db) as session:
            member_id = resolve_member(session, args.key).id
            before = members_service.profile(session, member_id)
            profile = members_service.update(session, actor, member_id, **changes) if changes else before
            if args.status is not None:
                profile = members_service.set_status(session, actor, member_id, MemberStatus(args.status), reason=args.reason or "")
            # The profile returned after a tag change may be stale; read it afresh.
            session.expire_all()
            profile = members_service.profile(session, member_id)
    except DuplicateMember as exc:
        return report_duplicate(exc)
    if args.json:
        print_json(member_document(profile))
    else:
        old, new = member_document(before), member_document(profile)
        shown = [key for key in (*UPDATABLE, "status") if old[key] != new[key]]
        print(f"{profile.name} ({profile.member_no}): " + (f"changed {', '.join(shown)}." if shown else "nothing changed."))
    return 0


# --------------------------------------------------------------------------- privacy requests


def run_export_data(db: Database, args: argparse.Namespace) -> int:
    """The member's copy of their data, in the app's language (as printed documents are)."""
    from crmdesk.commands.reports import _language
    from crmdesk.i18n import printing_language
    from crmdesk.services import privacy

    actor = acting_staff(db, args)
    member_id = member_id_for(db, args.key)
    with printing_language(_language(args)):
        exported = privacy.export_member_data(db, actor, member_id, args.out)
    if args.json:
        print_json({"json": str(exported.json_path.resolve()), "pdf": str(exported.pdf_path.resolve())})
    else:
        print(exported.json_path)
        print(exported.pdf_path)
    return 0


def run_erase(db: Database, args: argparse.Namespace) -> int:
    """Erase after the person typed the member's name at a terminal, or at once with --yes."""
    from crmdesk.services import privacy

    actor = acting_staff(db, args)
    member_id = member_id_for(db, args.key)
    with read_session(db) as session:
        profile = members_service.profile(session, member_id)
    if args.yes:
        typed = profile.name
    elif not sys.stdin.isatty():
        raise InvalidInput(QT_TRANSLATE_NOOP(
            "errors", "No terminal to type the member's name on: run the command at a terminal, or add --yes to erase without it."))
    else:
        print(f"This erases the personal data of {profile.name} ({profile.member_no}): name, phone, birthday, address, e-mail, "
              "notes, tags, complaint texts and photos. Purchases and ledgers stay. It cannot be undone.")
        try:
            typed = input("Type the member's name (or member number) to confirm: ")
        except EOFError:  # Ctrl+D: nothing typed, nothing erased
            typed = ""
    with unit_of_work(db) as session:
        erased = privacy.erase_member(session, actor, member_id, confirm_name=typed)
    privacy.settle_storage(db)
    print(f"Erased the personal data of member {erased.member_no}; the member is now listed as {erased.label}.")
    return 0
