"""`crmdesk bench`: the store-scale benchmark (builds its own throwaway database)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from crmdesk.commands.common import json_text
from crmdesk.db import Database
from crmdesk.errors import InvalidInput
from crmdesk.texts import QT_TRANSLATE_NOOP


def register(add_command) -> None:  # type: ignore[no-untyped-def]
    bench = add_command("bench", "measure crmdesk at store scale on a synthetic store (with --database-url, an empty "
                                 "PostgreSQL database: the counter measured there too, beside SQLite)", run_bench)
    bench.add_argument("--members", type=int, default=100_000, metavar="N",
                       help="members in the synthetic store (at least 100; default: 100000)")
    bench.add_argument("--purchases-per-member", type=float, default=10.0, metavar="K",
                       help="purchases per member on average (0 to 1000; default: 10)")
    bench.add_argument("--seed", type=int, default=1, metavar="S",
                       help="the random seed: the same seed and sizes give the same store (default: 1)")
    bench.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    bench.add_argument("--keep", metavar="DB", help="keep the synthetic database at this path (must not exist)")
    bench.add_argument("--only", metavar="SECTIONS", default="",
                       help="measure only these, comma-separated: counter, list, money, import, safety, documents, "
                            "insight (default: all of these), and large-import (a 1,000,000-row purchase file, "
                            "minutes: only when named)")


def run_bench(_db: Database | None, args: argparse.Namespace) -> int:
    if args.members < 100:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "--members must be at least 100."), field="members")
    if not 0 <= args.purchases_per_member <= 1000:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "--purchases-per-member must be from 0 to 1000."), field="purchases")
    from crmdesk.bench.run import EXTRA_SECTIONS, SECTIONS

    only = tuple(part.strip() for part in args.only.split(",") if part.strip()) or SECTIONS
    unknown = [part for part in only if part not in SECTIONS + EXTRA_SECTIONS]
    if unknown:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Unknown bench sections: {unknown}. Choose from: {known}."),
                           field="only", unknown=", ".join(unknown), known=", ".join(SECTIONS + EXTRA_SECTIONS))
    keep = Path(args.keep) if args.keep else None
    if keep is not None and keep.exists():
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "{path} exists; --keep needs a new file."), field="keep", path=keep)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # the list is measured through the real Qt model
    from PySide6.QtWidgets import QApplication

    from crmdesk.bench.run import format_table, report_json
    from crmdesk.bench.run import run_bench as measure

    _app = QApplication.instance() or QApplication([])
    server_url = None
    if getattr(args, "database_url", None):  # an empty PostgreSQL database: the counter measured there too
        from crmdesk.services.server import server_url as parse_server_url

        server_url = parse_server_url(args.database_url)
    report = measure(args.members, args.purchases_per_member, args.seed, keep=keep, only=only, server_url=server_url,
                     progress=lambda message: print(f"  {message}", file=sys.stderr, flush=True))
    print(format_table(report))
    if args.json:
        Path(args.json).write_text(json_text(report_json(report)), encoding="utf-8")
    return 0


run_bench.makes_own_database = True  # type: ignore[attr-defined]
