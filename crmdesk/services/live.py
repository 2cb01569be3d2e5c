"""What other tills changed, as it happens: the feed the screens follow to stay current without a reload.

On PostgreSQL the database itself announces every committed change (migration 0011: "table:ids" on the
channel ``crmdesk_changes``); ``ChangeFeed`` listens on a connection of its own. When that connection
is lost it says so (``Changes.everything``: anything may have been missed) and listens again as soon as
the server is back, quietly retrying meanwhile. SQLite has no channel: the feed looks at the file (and its
write-ahead log) every second, which every commit changes, and reports "something changed".

Blocking calls, for a background thread (views/live_changes.py runs one).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import sqlalchemy as sa

from crmdesk.connection_problems import CONNECT_TIMEOUT_S

CHANNEL = "crmdesk_changes"
SQLITE_POLL_S = 1.0  # how often an SQLite file is looked at: "within a second or two"
RETRY_S = (1, 2, 5, 10)  # waits between attempts to listen again after the server went away

# The tables whose changes touch a member's screens (the counter, the profile, the list).
MEMBER_TABLES = frozenset({"member", "card", "member_tag", "purchase", "points_entry", "wallet_entry", "credit_account",
                           "credit_entry", "collection_note", "coupon", "complaint", "survey_response"})
COMPLAINT_TABLES = frozenset({"complaint", "complaint_event", "complaint_resolution", "complaint_follow_up"})
RULE_TABLES = frozenset({"offer", "tier", "loyalty_rules", "category_rule"})


@dataclass(frozen=True)
class Changes:
    """Changes committed elsewhere since the last report."""

    tables: frozenset[str] = frozenset()
    members: frozenset[int] = frozenset()  # members whose figures, history or complaints changed
    complaints: frozenset[int] = frozenset()  # complaints whose timeline changed
    everything: bool = False  # unknown what (SQLite, many rows at once, or notices possibly missed)
    many_members: bool = field(default=False)  # some statement touched too many members to name

    def touches_member(self, member_id: int) -> bool:
        return self.everything or self.many_members or member_id in self.members or bool(self.tables & RULE_TABLES)

    def touches_complaint(self, complaint_id: int) -> bool:
        return self.everything or complaint_id in self.complaints or bool(self.tables & {"complaint"})

    @property
    def members_changed(self) -> bool:
        """Anything a member list or the shop's figures would show differently."""
        return self.everything or bool(self.tables & MEMBER_TABLES)

    @property
    def complaints_changed(self) -> bool:
        return self.everything or bool(self.tables & COMPLAINT_TABLES)

    def __or__(self, other: Changes) -> Changes:
        return Changes(self.tables | other.tables, self.members | other.members, self.complaints | other.complaints,
                       self.everything or other.everything, self.many_members or other.many_members)

    def __bool__(self) -> bool:
        return self.everything or bool(self.tables)


EVERYTHING = Changes(everything=True)


def parse_notice(payload: str) -> Changes:
    """One notice ("purchase:12,40", "complaint_event:7", "tier:*") as Changes; a payload of another shape means
    "something changed"."""
    table, colon, subjects = payload.partition(":")
    if not colon or not table:
        return EVERYTHING
    ids: set[int] = set()
    many = subjects.strip() == "*"
    if not many and subjects:
        for text in subjects.split(","):
            if text.strip().lstrip("-").isdigit():
                ids.add(int(text))
    if table in COMPLAINT_TABLES - {"complaint"}:
        return Changes(frozenset({table}), complaints=frozenset(ids), everything=many)
    return Changes(frozenset({table}), members=frozenset(ids), many_members=many and table in MEMBER_TABLES)


class ChangeFeed:
    """Waits for the changes others commit to a database. ``wait`` returns what changed (possibly nothing, after
    ``timeout_s``); ``close`` ends it (from any thread: a waiting ``wait`` returns within a poll)."""

    def __init__(self, url: sa.URL, sqlite_path: str | None = None) -> None:
        self._url = url
        self._sqlite_path = sqlite_path
        self._closed = False
        self._connection = None  # PostgreSQL: the listening psycopg connection
        self._file: tuple[tuple[int, int], ...] | None = None  # SQLite: the file's state at the last look
        self._retry = 0
        self._next_try = 0.0
        self._lost = False  # PostgreSQL: the listening connection broke; notices may have been missed
        self.connected = False  # PostgreSQL: listening now

    def close(self) -> None:
        self._closed = True

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        self.connected = False
        if connection is not None:
            try:
                connection.close()
            except Exception:  # noqa: BLE001 - already broken: nothing more to close
                pass

    def wait(self, timeout_s: float) -> Changes:
        if self._closed:
            self._drop()
            return Changes()
        if self._sqlite_path is not None:
            return self._wait_sqlite(timeout_s)
        return self._wait_postgresql(timeout_s)

    # ------------------------------------------------------------------ SQLite: the file's data version

    def _file_state(self) -> tuple[tuple[int, int], ...]:
        """The database file's and its write-ahead log's size and time: a commit anywhere moves them. Read from
        the file system, so the feed never holds the file open (a restore can replace it, Windows included)."""
        state = []
        for suffix in ("", "-wal"):
            try:
                found = os.stat(f"{self._sqlite_path}{suffix}")
                state.append((found.st_mtime_ns, found.st_size))
            except OSError:
                state.append((0, 0))
        return tuple(state)

    def _wait_sqlite(self, timeout_s: float) -> Changes:
        deadline = time.monotonic() + timeout_s
        while not self._closed:
            state = self._file_state()
            moved = self._file is not None and state != self._file
            self._file = state
            if moved:
                return EVERYTHING
            left = deadline - time.monotonic()
            if left <= 0:
                return Changes()
            time.sleep(min(SQLITE_POLL_S, left))
        return Changes()

    # ------------------------------------------------------------------ PostgreSQL: LISTEN

    def _listen(self) -> bool:
        """Listen (again) when due; True when listening."""
        if self._connection is not None:
            return True
        if time.monotonic() < self._next_try:
            return False
        import psycopg

        url = self._url
        try:
            self._connection = psycopg.connect(
                host=url.host, port=url.port, dbname=url.database, user=url.username, password=url.password,
                connect_timeout=CONNECT_TIMEOUT_S, application_name="crmdesk live", autocommit=True)
            self._connection.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error:
            self._drop()
            self._lost = True  # whatever is committed until it listens is not heard
            self._next_try = time.monotonic() + RETRY_S[min(self._retry, len(RETRY_S) - 1)]
            self._retry += 1
            return False
        self._retry = 0
        self.connected = True
        return True

    def _wait_postgresql(self, timeout_s: float) -> Changes:
        import psycopg

        deadline = time.monotonic() + timeout_s
        while not self._closed:
            if not self._listen():
                left = deadline - time.monotonic()
                if left <= 0:
                    return Changes()
                time.sleep(min(0.5, left))
                continue
            if self._lost:  # listening again after a loss: what happened meanwhile is unknown
                self._lost = False
                return EVERYTHING
            found = Changes()
            try:
                # Short slices, so close() is noticed; notices that came together are reported together.
                for notice in self._connection.notifies(timeout=min(0.5, max(deadline - time.monotonic(), 0.01))):
                    found = found | parse_notice(notice.payload)
                    if len(found.members) > 5_000:
                        return found | EVERYTHING
            except psycopg.Error:
                self._drop()
                self._lost = True
                continue
            if found or time.monotonic() >= deadline:
                return found
        self._drop()
        return Changes()
