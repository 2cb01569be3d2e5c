"""The cached balances on the member row against their append-only ledgers.

Points, stored value (principal and bonus apart) and credit owed are each kept
twice: as entries that are only ever added, and as a running figure on the
member row updated in the same transaction. The figures exist so the counter,
the member list and the reports need not sum the ledgers; this module says
whether they still agree, member by member, in one query per ledger.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crmdesk.models import CreditEntry, Member, PointsEntry, WalletEntry


@dataclass(frozen=True)
class Disagreement:
    member_id: int
    figure: str  # points, wallet principal, wallet bonus or credit owed
    cached: int
    ledger: int


def _compare(session: Session, figure: str, cached: sa.ColumnElement, summed: sa.Subquery, total: sa.ColumnElement) -> list[Disagreement]:
    ledger = sa.func.coalesce(total, 0)
    rows = session.execute(
        sa.select(Member.id, cached, ledger)
        .outerjoin(summed, summed.c.member_id == Member.id)
        .where(cached != ledger)
        .order_by(Member.id)
    ).all()
    return [Disagreement(member_id, figure, int(c), int(s)) for member_id, c, s in rows]


def disagreements(session: Session) -> list[Disagreement]:
    """Every cached balance that is not its ledger's sum (empty when the books agree)."""
    points = (sa.select(PointsEntry.member_id, sa.func.sum(PointsEntry.points).label("points"))
              .group_by(PointsEntry.member_id).subquery())
    wallet = (sa.select(WalletEntry.member_id, sa.func.sum(WalletEntry.principal_fen).label("principal"),
                        sa.func.sum(WalletEntry.bonus_fen).label("bonus"))
              .group_by(WalletEntry.member_id).subquery())
    owed = (sa.select(CreditEntry.member_id, sa.func.sum(CreditEntry.amount_fen).label("owed"))
            .group_by(CreditEntry.member_id).subquery())
    return (_compare(session, "points", Member.points_balance, points, points.c.points)
            + _compare(session, "wallet principal", Member.wallet_principal_fen, wallet, wallet.c.principal)
            + _compare(session, "wallet bonus", Member.wallet_bonus_fen, wallet, wallet.c.bonus)
            + _compare(session, "credit owed", Member.credit_owed_fen, owed, owed.c.owed))
