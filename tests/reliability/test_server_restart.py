"""Four tills on one PostgreSQL server, and the server restarted in the middle of their busy minute: no purchase
lost, none doubled.

Each till process records its own run of receipts (mixed members and amounts, some paid partly from the wallet,
some on credit); when the server goes away mid-sale it tries the same receipt again until the server answers --
a sale whose COMMIT reached the server before the connection broke is then found recorded and not written twice
(receipt numbers are unique per till). Afterwards every receipt of every till is in the database exactly once,
with the amount the till meant; every member's cached points, visits, spend, stored value and debt equal their
ledgers and purchases; and ``crmdesk check`` finds nothing.

Needs a scratch PostgreSQL (CRMDESK_TEST_POSTGRES_URL) that this machine can restart (Debian's pg_ctlcluster,
as root: CI's set-up). CRMDESK_RELIABILITY_TRIALS=N restarts it N times during a longer run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time

import pytest
import sqlalchemy as sa

from crmdesk.models import Member, Purchase, PurchaseKind
from crmdesk.services import credit, data_check, members, wallet
from crmdesk.services.staff import actor_for
from crmdesk.services.uow import read_session, unit_of_work
from tests.reliability.tills import PG_URL, fresh_database, trials

RESTARTS = trials(1)
TILLS = 4
SALES = 250 * RESTARTS + 150  # per till
MEMBERS = 6

pytestmark = [
    pytest.mark.slow,
    pytest.mark.serial,
    pytest.mark.skipif(not PG_URL, reason="set CRMDESK_TEST_POSTGRES_URL to a scratch PostgreSQL database"),
    pytest.mark.skipif(not shutil.which("pg_lsclusters") or os.geteuid() != 0,
                       reason="restarting the server needs Debian's pg_ctlcluster, as root"),
]

TILL = textwrap.dedent("""
    import json, sys, time
    import sqlalchemy as sa
    from crmdesk.db import open_database
    from crmdesk.errors import DatabaseError
    from crmdesk.failures import SystemFailure, explain
    from crmdesk.services import purchases
    from crmdesk.services.staff import actor_for
    from crmdesk.services.uow import read_session, unit_of_work

    url, till, sales, member_ids = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
    db = open_database(sa.make_url(url))
    with read_session(db) as session:
        actor = actor_for(session)
    retries = 0
    for n in range(sales):
        member_id = member_ids[n % len(member_ids)]
        amount = 1_000 + n
        wallet_fen = 200 if n % 5 == 1 else 0
        credit_fen = 300 if n % 7 == 2 else 0
        while True:
            try:
                with unit_of_work(db) as session:
                    purchases.record_purchase(session, actor, member_id, till=till, receipt_no=f"{till}-{n:05d}",
                                              amount_fen=amount, wallet_fen=wallet_fen, credit_fen=credit_fen,
                                              payment_method="cash")
                break
            except Exception as exc:
                if not isinstance(explain(exc), (SystemFailure, DatabaseError)):
                    raise
                retries += 1  # the server is away: the same receipt again, once it answers
                time.sleep(0.2)
    print(json.dumps({"till": till, "retries": retries}), flush=True)
    db.dispose()
""")


def _restart_server() -> float:
    """Restart the machine's PostgreSQL cluster (every connection drops); the seconds it took."""
    version, cluster = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True,
                                      check=True).stdout.split()[:2]
    started = time.monotonic()
    subprocess.run(["pg_ctlcluster", version, cluster, "restart"], check=True, capture_output=True)
    return time.monotonic() - started


def test_four_tills_through_a_server_restart_lose_and_double_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db, url = fresh_database(tmp_path, "postgresql")
    try:
        with unit_of_work(db) as session:
            owner = actor_for(session)
            ids = []
            for number in range(MEMBERS):
                member = members.register(session, owner, members.MemberInput(name=f"会员{number}",
                                                                               phone=f"1390000{number:04d}"))
                ids.append(member.id)
            for member_id in ids:
                wallet.top_up(session, owner, member_id, 400_000, payment_method="cash")
                credit.set_limit(session, owner, member_id, 10_000_000, term_days=30)
        with read_session(db) as session:
            before = {m.id: (m.wallet_principal_fen + m.wallet_bonus_fen, m.credit_owed_fen)
                      for m in session.scalars(sa.select(Member).where(Member.id.in_(ids)))}
        tills = [subprocess.Popen([sys.executable, "-c", TILL, url, f"T{k}", str(SALES), json.dumps(ids)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in range(TILLS)]
        restarted = []
        for restart in range(RESTARTS):
            target = SALES * TILLS * (restart + 1) // (RESTARTS + 1)
            deadline = time.monotonic() + 120
            while _recorded(db) < target and time.monotonic() < deadline and all(t.poll() is None for t in tills):
                time.sleep(0.05)
            db.engine.dispose()  # the test's own connections are gone with the restart anyway
            restarted.append((_restart_server(), target))
        reports = []
        for till in tills:
            out, err = till.communicate(timeout=300)
            assert till.returncode == 0, err[-2000:]
            reports.append(json.loads(out.strip().splitlines()[-1]))
        assert restarted and all(seconds > 0 for seconds, _ in restarted)

        with read_session(db) as session:
            rows = session.execute(sa.select(Purchase.till, Purchase.receipt_no, Purchase.amount_fen, Purchase.wallet_fen,
                                             Purchase.credit_fen).where(Purchase.kind == PurchaseKind.SALE)).all()
            receipts = [(till, receipt) for till, receipt, *_ in rows]
            assert len(receipts) == len(set(receipts)) == TILLS * SALES  # none lost, none doubled
            for till, receipt, amount, wallet_fen, credit_fen in rows:
                n = int(receipt.split("-")[1])
                assert (amount, wallet_fen, credit_fen) == (1_000 + n, 200 if n % 5 == 1 else 0, 300 if n % 7 == 2 else 0)
            after = {m.id: (m.wallet_principal_fen + m.wallet_bonus_fen, m.credit_owed_fen)
                     for m in session.scalars(sa.select(Member).where(Member.id.in_(ids)))}
        paid_from_wallet = sum(w for *_, w, _c in rows)
        put_on_credit = sum(c for *_, c in rows)
        assert sum(before[i][0] - after[i][0] for i in ids) == paid_from_wallet
        assert sum(after[i][1] - before[i][1] for i in ids) == put_on_credit
        assert data_check.run(db).findings == []
        print(f"\n{TILLS} tills, {TILLS * SALES} sales, {len(restarted)} server restarts "
              f"({', '.join(f'{s:.1f} s' for s, _ in restarted)}); retries after the restarts: "
              f"{sum(r['retries'] for r in reports)}; lost 0, doubled 0")
    finally:
        db.dispose()


def _recorded(db) -> int:  # type: ignore[no-untyped-def]
    try:
        with db.engine.connect() as connection:
            return int(connection.execute(sa.select(sa.func.count()).select_from(Purchase)).scalar_one())
    except sa.exc.DBAPIError:
        return 0
