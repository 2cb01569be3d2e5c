"""`crmdesk privacy retention [--run]`: the members whose personal data the retention rule erases.

Members closed for longer than the owner's retention period (Settings, "data safety") are listed;
with --run their personal data is erased as `crmdesk member erase` does, except for members who still
have stored value or owe money, who are listed as skipped until the money is settled.
"""

from __future__ import annotations

import argparse

from crmdesk import shop_time
from crmdesk.commands.common import acting_staff, counted, print_json
from crmdesk.db import Database
from crmdesk.services import privacy
from crmdesk.services.member_query import format_yuan
from crmdesk.services.uow import read_session, unit_of_work


def register(add_command) -> None:  # type: ignore[no-untyped-def]
    privacy_command = add_command("privacy", "personal data: the retention rule for closed members", None)
    actions = privacy_command.add_subparsers(dest="privacy_command", metavar="ACTION", required=True)
    retention = add_command("retention", "list the closed members past the retention period; --run erases their personal data",
                            run_retention, actions)
    retention.add_argument("--run", action="store_true",
                           help="erase them now (owner only); members with stored value or a debt are skipped")
    retention.add_argument("--json", action="store_true", help="print the members (and what was done) as JSON")


def _due_document(due: privacy.DueMember) -> dict[str, object]:
    return {
        "id": due.id,
        "member_no": due.member_no,
        "name": due.name,
        "closed_at": privacy.iso_time(due.closed_at),
        "stored_value": privacy.money(due.wallet_fen),
        "owed": privacy.money(due.owed_fen),
        "blocked": due.blocked,
    }


def run_retention(db: Database, args: argparse.Namespace) -> int:
    today = shop_time.today()
    with read_session(db) as session:
        years = privacy.retention_years(session)
        due = privacy.members_due_for_anonymising(session, today)
    result: privacy.RetentionResult | None = None
    if args.run:
        actor = acting_staff(db, args)
        with unit_of_work(db) as session:
            result = privacy.run_retention(session, actor, today)
        privacy.settle_storage(db)
    if args.json:
        document: dict[str, object] = {"retention_years": years, "today": today.isoformat(),
                                       "due": [_due_document(d) for d in due]}
        if result is not None:
            document["erased"] = list(result.erased)
            document["skipped"] = [d.member_no for d in result.skipped]
        print_json(document)
        return 0
    if years == 0:
        print("No retention period is set: closed members are kept until erased by hand (Settings, data safety).")
        return 0
    print(f"Retention period: {years} years; {counted(len(due), 'member')} closed for longer.")
    for d in due:
        money = []
        if d.wallet_fen:
            money.append(f"stored value ¥{format_yuan(d.wallet_fen)}")
        if d.owed_fen:
            money.append(f"owes ¥{format_yuan(d.owed_fen)}")
        note = f"  (skipped until settled: {', '.join(money)})" if money else ""
        print(f"  {d.member_no}\t{d.name}\tclosed {shop_time.format_date(d.closed_at)}{note}")
    if result is not None:
        print(f"Erased the personal data of {counted(result.count, 'member')}"
              + (f"; skipped {counted(len(result.skipped), 'member')} with money still held." if result.skipped else "."))
    return 0
