"""`crmdesk survey add|summary`: counter satisfaction surveys from the command line."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from crmdesk.commands.common import acting_staff, counted, member_id_for, print_json
from crmdesk.commands.purchases import parse_time
from crmdesk.db import Database
from crmdesk.errors import InvalidInput
from crmdesk.services import complaints, loyalty, surveys
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.texts import QT_TRANSLATE_NOOP


def register(add_command) -> None:  # type: ignore[no-untyped-def]
    survey = add_command("survey", "counter satisfaction surveys: take one, monthly summary", None)
    actions = survey.add_subparsers(dest="survey_command", metavar="ACTION", required=True)
    add = add_command("add", "record one customer's answers", run_add, actions)
    add.add_argument("--score", action="append", required=True, metavar="QUESTION=N",
                     help="a question (code or name) and its score from 1 to 5, e.g. checkout=4 (repeat)")
    add.add_argument("--member", metavar="KEY", help="card number, member number or phone (optional)")
    add.add_argument("--channel", default="counter", help="code or name (default: counter)")
    add.add_argument("--comment", default="", help="what the customer said (optional)")
    add.add_argument("--time", metavar="ISO", help="when it was taken (default: now)")
    add.add_argument("--json", action="store_true", help="print the recorded survey as JSON")
    summary = add_command("summary", "a month's satisfaction rate and means, against the month before", run_summary, actions)
    summary.add_argument("--month", metavar="YYYY-MM", help="default: this month")
    summary.add_argument("--json", action="store_true", help="print the summary as JSON")


def _score(session, text: str) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    key, _, value = text.rpartition("=")
    if not key or not value.strip().lstrip("-").isdigit():
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "'{text}' is not a question and a score, e.g. checkout=4."), field="scores",
                           text=text)
    return surveys.find_dimension(session, key).code, int(value)


def run_add(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    member_id = member_id_for(db, args.member) if args.member else None
    with unit_of_work(db) as session:
        data = surveys.SurveyInput(
            scores=tuple(_score(session, text) for text in args.score), member_id=member_id,
            channel=complaints.find_channel(session, args.channel).code, comment=args.comment, taken_at=parse_time(args.time),
        )
        info = surveys.add_response(session, actor, data)
    if args.json:
        print_json(info.to_json())
    else:
        print(f"Survey {info.id} recorded: " + ", ".join(f"{code} {score}" for code, score in info.scores))
    return 0


def run_summary(db: Database, args: argparse.Namespace) -> int:
    month = args.month or f"{loyalty.local_day(datetime.now(UTC)):%Y-%m}"
    with read_session(db) as session:
        summary = surveys.monthly_summary(session, month)
    if args.json:
        print_json(summary.to_json())
        return 0
    rate = summary.satisfaction_rate
    shown = f"{rate.value:.0%}" if rate.value is not None else "-"
    print(f"{summary.month}: {counted(summary.responses, 'response')}, satisfied (4-5) {rate.numerator}/{rate.denominator} ({shown})")
    for d in summary.dimensions:
        mean = f"{d.mean:.2f}" if d.mean is not None else "-"
        change = f"{d.change:+.2f}" if d.change is not None else "n/a"
        alert = "  ▼ dropped" if d.dropped else ""
        print(f"  {d.name:<20} {mean:>5} ({change} vs {summary.previous_month}, {counted(d.count, 'score')}){alert}")
    return 0
