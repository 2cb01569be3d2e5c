"""Unit of work: one business operation, one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.orm import Session

from crmdesk.db import BULK_CACHE_KIB, Database, widened_page_cache
from crmdesk.models import Role


@dataclass(frozen=True)
class Actor:
    """The staff member on whose behalf a service call runs."""

    staff_id: int
    name: str
    role: Role


@contextmanager
def unit_of_work(db: Database, *, bulk: bool = False) -> Iterator[Session]:
    """A session whose work is committed together on success and rolled back
    entirely on any error. On SQLite it holds the write lock from the start, so
    a check ("enough points?") and the write that depends on it cannot interleave
    with another till's. ``bulk`` (an import's one big write) gives SQLite's
    connection a larger page cache for it, so the write lock is held less long."""
    with db.write_sessions() as session, session.begin():
        if not bulk:
            yield session
            return
        with widened_page_cache(session.connection(), BULK_CACHE_KIB):
            yield session


@contextmanager
def read_session(db: Database) -> Iterator[Session]:
    """A session for reads only; it never commits."""
    with db.sessions() as session, session.begin():
        yield session
        session.rollback()
