"""Money operations done once, however often a till asks: the till gives each sale, top-up, repayment or
redemption an id when the cashier starts it; the operation writes that id in its own transaction. When the connection
breaks just as the server commits, the till cannot know whether it went through -- it asks again with the same
id and is told it was done (AlreadyDone), instead of doing it twice.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from crmdesk.errors import CrmdeskError
from crmdesk.models import DoneRequest
from crmdesk.shop_time import format_time
from crmdesk.texts import QT_TRANSLATE_NOOP

MSG_ALREADY_DONE = QT_TRANSLATE_NOOP(
    "errors", "This was already recorded at {time}: the connection broke just after it went through. Nothing more "
              "was done.")


class AlreadyDone(CrmdeskError):
    """The request was done before (its id is in done_request); nothing was done now. ``made_id``: what it made
    then, when the operation said (see ``made``)."""

    exit_code = 0
    made_id: int | None = None


def once(session: Session, request_id: str | None, kind: str, member_id: int | None = None) -> None:
    """Mark the request done in the caller's transaction, or raise AlreadyDone when it was (None: no id given)."""
    if not request_id:
        return
    connection = session.connection()
    insert = (postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert)(DoneRequest)
    # On PostgreSQL a second till's (or a retry's) insert of the same id waits for the first transaction: its
    # commit makes this one find the id taken, its rollback lets this one go ahead.
    written = connection.execute(insert.on_conflict_do_nothing(index_elements=[DoneRequest.id])
                                 .returning(DoneRequest.id),
                                 {"id": request_id, "kind": kind, "member_id": member_id}).scalar()
    if written is None:
        done = session.execute(sa.select(DoneRequest.done_at, DoneRequest.made_id).where(DoneRequest.id == request_id)).first()
        refusal = AlreadyDone(MSG_ALREADY_DONE, time=format_time(done.done_at) if done else "?")
        refusal.made_id = done.made_id if done else None
        raise refusal


def made(session: Session, request_id: str | None, made_id: int) -> None:
    """Keep with a request what it made (in the same transaction), for the till that asks again."""
    if request_id:
        session.connection().execute(sa.update(DoneRequest).where(DoneRequest.id == request_id).values(made_id=made_id))
