"""`crmdesk insight refresh|fit|segments|alerts|window`: customer insight from the command line."""

from __future__ import annotations

import argparse
import sys
from datetime import date

from crmdesk.commands.common import acting_staff, print_json
from crmdesk.db import Database
from crmdesk.services import insight, insight_figures
from crmdesk.services import insight_rules as rules
from crmdesk.services.member_query import money_text
from crmdesk.services.uow import read_session, unit_of_work


def register(add_command) -> None:  # type: ignore[no-untyped-def]
    group = add_command("insight", "customer insight: RFM segments, ABC classes, stages, churn alerts, purchase model", None)
    actions = group.add_subparsers(dest="insight_command", metavar="ACTION", required=True)
    refresh = add_command("refresh", "recompute every member's figures and the dashboard's", run_refresh, actions)
    refresh.add_argument("--as-of", type=date.fromisoformat, default=None, metavar="YYYY-MM-DD",
                         help="as at the end of this day (default: the shop's today)")
    refresh.add_argument("--json", action="store_true", help="print the result as JSON")
    fit = add_command("fit", "fit the BG/NBD and Gamma-Gamma models (nothing is stored)", run_fit, actions)
    fit.add_argument("--calibration-end", type=date.fromisoformat, default=None, metavar="YYYY-MM-DD",
                     help="fit on purchases up to this day; the days after it test the forecast (default: today)")
    fit.add_argument("--json", action="store_true", help="print the parameters as JSON")
    segments = add_command("segments", "RFM segments, ABC classes and stages: members and spend share", run_segments, actions)
    segments.add_argument("--as-of", type=date.fromisoformat, default=None, metavar="YYYY-MM-DD",
                          help="refresh as of this day first (default: show the last refresh)")
    segments.add_argument("--json", action="store_true", help="print as JSON")
    alerts = add_command("alerts", "members with a churn alert and its reason", run_alerts, actions)
    alerts.add_argument("--limit", type=int, default=200, help="at most this many (default 200)")
    alerts.add_argument("--json", action="store_true", help="print as JSON")
    window = add_command("window", "the months frequency and spend are counted over (default 12)", run_window, actions)
    window.add_argument("months", type=int, nargs="?", help="set it to this many months (1-60); without: show it")


def _fit_document(bg, gg) -> dict[str, object] | None:  # type: ignore[no-untyped-def]
    if bg is None:
        return None
    return {"r": bg.r, "alpha": bg.alpha, "a": bg.a, "b": bg.b, "log_likelihood": bg.log_likelihood,
            "members_used": bg.customers, "time_unit": "day",
            "gamma_gamma": None if gg is None else {"p": gg.p, "q": gg.q, "v": gg.v, "log_likelihood": gg.log_likelihood,
                                                     "members_used": gg.customers, "money_unit": "fen"}}


def _note(note: str) -> str:
    return rules.MODEL_NOTES[note].format(count=rules.MIN_RETURNING, days=rules.MIN_HISTORY_DAYS) if note else ""


def run_refresh(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    done = insight.refresh(db, actor, as_of=args.as_of, progress=None if args.json else _progress)
    if args.json:
        print_json({"as_of": done.as_of.isoformat(), "members": done.members, "purchases": done.purchases,
                    "seconds": done.seconds, "model": _fit_document(done.fit, done.spend_fit),
                    "model_note": _note(done.model_note) or None})
    else:
        print(f"\rInsight as of {done.as_of.isoformat()}: {done.members:,} members who bought, "
              f"{done.purchases:,} purchases, {done.seconds:.1f} s.")
        if done.model_note:
            print(_note(done.model_note))
    return 0


def _progress(fraction: float, step: str) -> None:
    print(f"\r{fraction:4.0%} {step}".ljust(40), end="", file=sys.stderr, flush=True)


def run_fit(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    result = insight.fit(db, actor, calibration_end=args.calibration_end)
    document = {"calibration_end": result.calibration_end.isoformat(), "members": result.members,
                **(_fit_document(result.fit, result.spend_fit) or {}), "model_note": _note(result.model_note) or None,
                "holdout": None if not result.holdout_days else {
                    "days": result.holdout_days, "predicted_shopping_days": result.predicted_holdout,
                    "actual_shopping_days": result.actual_holdout}}
    if args.json:
        print_json(document)
        return 0
    if result.fit is None:
        print(_note(result.model_note))
        return 0
    bg = result.fit
    print(f"BG/NBD on {bg.customers:,} members (days): r={bg.r:.4f} alpha={bg.alpha:.4f} a={bg.a:.4f} b={bg.b:.4f} "
          f"log-likelihood={bg.log_likelihood:.1f}")
    if result.spend_fit is not None:
        gg = result.spend_fit
        print(f"Gamma-Gamma on {gg.customers:,} members (fen): p={gg.p:.4f} q={gg.q:.4f} v={gg.v:.2f}")
    if result.holdout_days and result.predicted_holdout is not None:
        print(f"The {result.holdout_days} days after {result.calibration_end.isoformat()}: "
              f"{result.predicted_holdout:,.0f} shopping days expected, {result.actual_holdout:,} happened.")
    return 0


def run_segments(db: Database, args: argparse.Namespace) -> int:
    if args.as_of is not None:
        insight.refresh(db, acting_staff(db, args), as_of=args.as_of)
    with read_session(db) as session:
        run = insight_figures.latest_run(session)
        groups = {kind: insight_figures.counts(session, kind) for kind in ("segment", "abc", "stage")}
    document = {
        "as_of": run.as_of.isoformat() if run else None,
        "members": run.members if run else 0,
        **{kind: [{"key": g.key, "label": insight_figures.group_label(kind, g.key), "members": g.members,
                   "member_share": g.member_share, "spend_fen": g.spend_fen, "spend_share": g.spend_share}
                  for g in rows] for kind, rows in groups.items()},
    }
    if args.json:
        print_json(document)
        return 0
    if run is None:
        print("No insight yet: run `crmdesk insight refresh`.")
        return 0
    print(f"As of {run.as_of.isoformat()}, {run.members:,} members who bought:")
    for kind, rows in groups.items():
        print(f"\n{insight_figures.KIND_LABELS[kind]}")
        for g in rows:
            print(f"  {insight_figures.group_label(kind, g.key):<28} {g.members:>9,} {g.member_share:6.1%}  "
                  f"{money_text(g.spend_fen):>16} {g.spend_share:6.1%}")
    return 0


def run_alerts(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    with read_session(db) as session:
        rows = insight_figures.alerts(session, actor, limit=max(1, min(args.limit, 10_000)))
    items = [{"member_no": r.member_no, "name": r.name, "alert": r.alert,
              "reason": insight_figures.alert_reason(r.alert, r.usual, r.now), "stage": r.stage, "segment": r.segment,
              "spend_fen": r.monetary_fen} for r in rows]
    if args.json:
        print_json(items)
    else:
        for item in items:
            print(f"{item['member_no']:<10} {item['name']:<12} {item['reason']}")
        print(f"{len(items)} members.")
    return 0


def run_window(db: Database, args: argparse.Namespace) -> int:
    if args.months is None:
        with read_session(db) as session:
            print(insight.settings(session).window_months)
        return 0
    actor = acting_staff(db, args)
    with unit_of_work(db) as session:
        insight.set_window(session, actor, args.months)
    print(f"Frequency and spend are counted over {args.months} months from the next refresh.")
    return 0
