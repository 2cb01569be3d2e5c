"""Backups: taken online and verified, rotated, copied to a second place, and restored (the restore drill)."""

from __future__ import annotations

import gzip
import hashlib
import json
import sqlite3
import stat
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from crmdesk import shop_time
from crmdesk.db import head_revision
from crmdesk.errors import DatabaseTooNew, DatabaseUnavailable, InvalidInput, NotACrmdeskDatabase, PermissionDenied
from crmdesk.failures import SystemFailure
from crmdesk.models import AuditEvent, Member
from crmdesk.services import backups, data_check, members, purchases, safety_settings, wallet
from crmdesk.services.backups import BackupInfo
from crmdesk.services.safety_settings import SafetyRules
from crmdesk.services.uow import read_session, unit_of_work
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures

NOW = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)


def shop_with_sales(db, cashier, count: int = 3) -> list[int]:  # type: ignore[no-untyped-def]
    ids = []
    with unit_of_work(db) as session:
        for i in range(count):
            member = members.register(session, cashier, members.MemberInput(name=f"顾客{i}", phone=f"1380013{i:04d}"))
            purchases.record_purchase(session, cashier, member.id, till="01", amount_fen=1_000 * (i + 1), now=NOW)
            ids.append(member.id)
        wallet.top_up(session, cashier, ids[0], 20_000, payment_method="cash", now=NOW)
    return ids


def table_rows(path: Path) -> dict[str, list[tuple]]:  # type: ignore[type-arg]
    """Every row of every table (alembic's included), in id order: equal dicts mean equal data."""
    connection = sqlite3.connect(path)
    try:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return {table: connection.execute(f'SELECT * FROM "{table}" ORDER BY 1').fetchall() for table in tables}
    finally:
        connection.close()


def unpacked(info: BackupInfo, folder: Path) -> Path:
    plain = folder / "unpacked.sqlite"
    plain.write_bytes(gzip.decompress(info.path.read_bytes()))
    return plain


def test_a_backup_is_verified_compressed_described_and_private(db, cashier, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    shop_with_sales(db, cashier)
    info = backups.take_backup(db, "manual", now=NOW)
    assert info.path.parent == backups.backup_folder(db) and info.path.name.endswith(".sqlite.gz")
    assert info.members == 3 and info.revision == head_revision() and info.verified
    assert info.sha256 == hashlib.sha256(info.path.read_bytes()).hexdigest()
    described = json.loads(Path(str(info.path) + ".json").read_text(encoding="utf-8"))
    assert described["sha256"] == info.sha256 and described["reason"] == "manual"
    for path in (info.path, Path(str(info.path) + ".json")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(info.path.parent.stat().st_mode) == 0o700
    copy = unpacked(info, tmp_path)
    assert sqlite3.connect(copy).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert table_rows(copy) == table_rows(db.sqlite_path)
    assert backups.list_backups(info.path.parent) == [info]
    assert [p.name for p in info.path.parent.iterdir() if p.name.startswith(".")] == []  # no scratch left


def test_a_backup_while_a_till_keeps_selling_is_consistent(db, cashier, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ids = shop_with_sales(db, cashier)
    stop = threading.Event()
    sold = []

    def till() -> None:
        while not stop.is_set():
            with unit_of_work(db) as session:
                purchases.record_purchase(session, cashier, ids[1], till="02", amount_fen=500, now=NOW)
            sold.append(1)

    worker = threading.Thread(target=till)
    worker.start()
    try:
        taken = [backups.take_backup(db, "periodic", now=NOW + timedelta(seconds=i)) for i in range(3)]
    finally:
        stop.set()
        worker.join()
    assert sold  # the till was never blocked out
    for info in taken:
        copy = unpacked(info, tmp_path)
        total, visits = sqlite3.connect(copy).execute(
            "SELECT total_spend_fen, visit_count FROM member WHERE id = ?", (ids[1],)).fetchone()
        count = sqlite3.connect(copy).execute("SELECT count(*) FROM purchase WHERE member_id = ?", (ids[1],)).fetchone()[0]
        assert visits == count and total == 2_000 + 500 * (count - 1)  # a snapshot, never half a sale
        copy.unlink()


def info_at(moment: datetime, *, verified: bool = True) -> BackupInfo:
    return BackupInfo(Path(f"/b/{moment.isoformat()}"), moment, "periodic", 1, "x", 1, "0008", verified)


def test_rotation_keeps_today_yesterday_then_days_weeks_months() -> None:
    today = date(2026, 12, 5)
    start = datetime(2024, 12, 1, tzinfo=UTC)
    every_six_hours = [info_at(start + timedelta(hours=6 * i)) for i in range(int((datetime(2026, 12, 5, 12, tzinfo=UTC) - start)
                                                                                  / timedelta(hours=6)))]
    keep = backups.plan_rotation(every_six_hours, SafetyRules(keep_daily=12, keep_weekly=10, keep_monthly=9), today)
    kept = sorted((b for b in every_six_hours if b.path in keep), key=lambda b: b.created_at, reverse=True)
    recent = [b for b in kept if shop_time.to_shop(b.created_at).date() >= today - timedelta(days=1)]
    assert recent == [b for b in every_six_hours[::-1] if shop_time.to_shop(b.created_at).date() >= today - timedelta(days=1)]
    older = kept[len(recent):]
    assert len(older) == 12 + 10 + 9
    older_days = [shop_time.to_shop(b.created_at).date() for b in older]
    assert len(set(older_days)) == len(older_days)  # one copy per day, week or month
    assert older_days[0] == today - timedelta(days=2) and older_days[11] == today - timedelta(days=13)
    assert older_days[-1] < today - timedelta(days=200)  # months reach back


def test_rotation_never_deletes_the_only_good_copy() -> None:
    old = info_at(datetime(2023, 1, 1, tzinfo=UTC))
    assert backups.plan_rotation([old], SafetyRules(0, 0, 0), date(2026, 12, 5)) == {old.path}
    newest_bad = info_at(datetime(2026, 12, 1, tzinfo=UTC), verified=False)
    assert old.path in backups.plan_rotation([newest_bad, old], SafetyRules(0, 0, 0), date(2026, 12, 5))


def test_rotation_deletes_copies_and_their_descriptions(db, cashier) -> None:  # type: ignore[no-untyped-def]
    shop_with_sales(db, cashier, 1)
    with unit_of_work(db) as session:
        safety_settings.save(session, owner_of(db), SafetyRules(keep_daily=2, keep_weekly=0, keep_monthly=0))
    days = [NOW - timedelta(days=n) for n in (9, 8, 7, 6, 1, 0)]
    for moment in days:
        backups.take_backup(db, "daily", now=moment)
    left = backups.list_backups(backups.backup_folder(db))
    # The latest call rotates: today's and yesterday's, then two more days.
    assert [b.created_at for b in left] == [days[5], days[4], days[3], days[2]]
    assert len(list(backups.backup_folder(db).glob("*.json"))) == 4


def owner_of(db):  # type: ignore[no-untyped-def]
    from crmdesk.services import staff

    with read_session(db) as session:
        return staff.actor_for(session, None)


def test_each_backup_is_copied_to_the_second_place_and_a_missing_place_is_reported(db, cashier, owner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    shop_with_sales(db, cashier, 1)
    usb = tmp_path / "usb"
    with unit_of_work(db) as session:
        safety_settings.save(session, owner, SafetyRules(second_place=str(usb)))
    # The stick is not plugged in: the backup still succeeds, the status says the place is gone.
    backups.take_backup(db, "daily", now=NOW)
    state = backups.status(db, now=NOW)
    assert state.second_place_missing and state.warning and not state.stale
    assert state.second_place is not None and state.second_place.missing_since == NOW
    later = NOW + timedelta(days=2)
    backups.take_backup(db, "daily", now=later)
    assert backups.status(db, now=later).second_place.missing_since == NOW  # missing since the first failure
    usb.mkdir()
    info = backups.take_backup(db, "daily", now=later + timedelta(hours=1))
    copied = usb / backups.backup_folder(db).name / info.path.name
    assert copied.read_bytes() == info.path.read_bytes()
    state = backups.status(db, now=later + timedelta(hours=1))
    assert not state.second_place_missing and not state.warning
    assert state.second_place.last_ok_at == later + timedelta(hours=1) and state.second_place.missing_since is None


def test_status_turns_red_after_three_days_without_a_good_backup(db, cashier) -> None:  # type: ignore[no-untyped-def]
    assert backups.status(db, now=NOW).stale  # none yet
    backups.take_backup(db, "daily", now=NOW)
    assert not backups.status(db, now=NOW + timedelta(days=2, hours=23)).warning
    assert backups.status(db, now=NOW + timedelta(days=3, minutes=1)).stale


def test_automatic_backups_are_due_daily_and_every_half_hour_of_changes(db, cashier) -> None:  # type: ignore[no-untyped-def]
    assert backups.due(db, now=NOW) == "daily"
    now = shop_time.now()
    backups.take_backup(db, "daily", now=now)
    assert backups.due(db, now=now + timedelta(minutes=10)) is None
    assert backups.due(db, now=now + timedelta(minutes=31)) is None  # nothing changed since
    shop_with_sales(db, cashier, 1)
    assert backups.due(db, now=now + timedelta(minutes=10)) is None
    assert backups.due(db, now=now + timedelta(minutes=31)) == "periodic"
    assert backups.due(db, now=now + timedelta(days=1)) == "daily"


def test_restore_drill_brings_back_every_table_and_keeps_the_data_it_replaced(db, cashier, owner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ids = shop_with_sales(db, cashier)
    info = backups.take_backup(db, "manual", now=NOW)
    expected = table_rows(unpacked(info, tmp_path))
    # Life goes on after the backup: a new member, sales, money.
    with unit_of_work(db) as session:
        late = members.register(session, cashier, members.MemberInput(name="晚来的人", phone="13700137000")).id
        purchases.record_purchase(session, cashier, ids[2], till="01", amount_fen=9_900, now=NOW)
        wallet.top_up(session, cashier, late, 5_000, payment_method="wechat", now=NOW)
    changed = table_rows(db.sqlite_path)

    result = backups.restore(db, info.path, owner, now=NOW + timedelta(hours=1))
    assert result.members == 3
    after = table_rows(db.sqlite_path)
    restore_rows = [row for row in after["audit_event"] if row not in expected["audit_event"]]
    assert len(restore_rows) == 1 and "database.restore" in restore_rows[0]
    assert {**after, "audit_event": expected["audit_event"]} == expected
    # The data the restore replaced is itself a backup, checked like any other.
    safety = backups.describe_backup(result.safety_copy)
    assert safety is not None and safety.reason == "before-restore"
    (tmp_path / "safety").mkdir()
    assert table_rows(unpacked(safety, tmp_path / "safety")) == changed
    assert backups.last_restore_at(db) is not None
    assert data_check.run(db).sound
    with read_session(db) as session:  # the database works on
        assert session.scalar(sa.select(sa.func.count()).select_from(Member)) == 3


def sqlite_file(path: Path, statements: list[str]) -> Path:
    connection = sqlite3.connect(path)
    for statement in statements:
        connection.execute(statement)
    connection.commit()
    connection.close()
    return path


@pytest.mark.parametrize("make, error, message", [
    (lambda folder: (folder / "notes.txt").write_text("hello") and folder / "notes.txt", NotACrmdeskDatabase, "not a crmdesk"),
    (lambda folder: sqlite_file(folder / "other.sqlite", ["CREATE TABLE x (a)"]), NotACrmdeskDatabase, "not a crmdesk"),
    (lambda folder: folder / "missing.sqlite.gz", InvalidInput, "no backup file"),
])
def test_restore_refuses_what_is_not_a_crmdesk_backup_and_changes_nothing(db, cashier, owner, tmp_path: Path, make, error, message) -> None:  # type: ignore[no-untyped-def]
    shop_with_sales(db, cashier, 1)
    before = table_rows(db.sqlite_path)
    with pytest.raises(error, match=message):
        backups.restore(db, make(tmp_path), owner)
    assert table_rows(db.sqlite_path) == before


def test_restore_refuses_a_damaged_a_changed_or_a_newer_copy(db, cashier, owner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    shop_with_sales(db, cashier, 1)
    info = backups.take_backup(db, "manual", now=NOW)
    before = table_rows(db.sqlite_path)
    cut = tmp_path / "cut.sqlite.gz"
    cut.write_bytes(info.path.read_bytes()[: info.size // 2])
    with pytest.raises(SystemFailure, match="damaged"):
        backups.restore(db, cut, owner)
    tampered = info.path.read_bytes()
    info.path.write_bytes(tampered[:-9] + bytes(9))
    with pytest.raises(SystemFailure, match="checksum"):
        backups.restore(db, info.path, owner)
    newer = unpacked(backups.take_backup(db, "manual", now=NOW + timedelta(minutes=1)), tmp_path)
    sqlite_file(newer, ["UPDATE alembic_version SET version_num = '9999'"])
    with pytest.raises(DatabaseTooNew, match="newer version"):
        backups.restore(db, newer, owner)
    assert table_rows(db.sqlite_path) == before


def test_only_the_owner_restores(db, cashier, supervisor) -> None:  # type: ignore[no-untyped-def]
    info = backups.take_backup(db, "manual", now=NOW)
    for person in (cashier, supervisor):
        with pytest.raises(PermissionDenied):
            backups.restore(db, info.path, person)


def test_a_damaged_database_is_kept_byte_for_byte_before_a_restore(db, cashier, owner) -> None:  # type: ignore[no-untyped-def]
    shop_with_sales(db, cashier, 1)
    info = backups.take_backup(db, "manual", now=NOW)
    with pytest.MonkeyPatch.context() as patch:
        def damaged(*_args, **_kwargs):  # type: ignore[no-untyped-def]
            raise SystemFailure("{path} is damaged: SQLite's integrity check fails on it.", path="x")

        patch.setattr(backups, "_sqlite_backup", damaged)
        result = backups.restore(db, info.path, owner)
    assert result.safety_copy.name.endswith("-damaged.sqlite") and result.safety_copy.stat().st_size > 0


def test_postgresql_backups_need_pg_dump_and_say_how_to_get_it(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(backups.shutil, "which", lambda _name: None)
    server = SimpleNamespace(is_sqlite=False, sqlite_path=None, url=sa.make_url("postgresql+psycopg://shop@db/crmdesk"))
    with pytest.raises(DatabaseUnavailable, match="needs pg_dump.*apt install postgresql-client"):
        backups.take_backup(server, "manual", to=tmp_path)  # type: ignore[arg-type]


def test_a_postgresql_database_is_restored_on_the_server(owner) -> None:  # type: ignore[no-untyped-def]
    server = SimpleNamespace(is_sqlite=False, sqlite_path=None)
    with pytest.raises(InvalidInput, match="pg_restore"):
        backups.restore(server, Path("x.pgdump"), owner)  # type: ignore[arg-type]


def test_restores_and_manual_backups_are_audited(db, owner, cashier) -> None:  # type: ignore[no-untyped-def]
    info = backups.take_backup(db, "manual", actor=cashier, now=NOW)
    with read_session(db) as session:
        made = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "backup.create")).one()
        assert made.staff_name == cashier.name and made.details["file"] == info.path.name
    backups.restore(db, info.path, owner)
    with read_session(db) as session:
        restored = session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()
        assert restored.action == "database.restore" and restored.staff_name == owner.name
        assert restored.details["file"] == info.path.name


def test_a_large_import_is_backed_up_for_first_a_small_one_is_not(db, cashier, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    small = tmp_path / "small.csv"
    small.write_text("姓名,手机\n张三,13800138000\n", encoding="utf-8")
    assert backups.before_import(db, small) is None
    large = tmp_path / "large.csv"
    large.write_text("姓名,手机\n" + "".join(f"顾客{i},139{i:08d}\n" for i in range(4_000)), encoding="utf-8")
    info = backups.before_import(db, large)
    assert info is not None and info.reason == "before-import"
    assert backups.before_import(db, tmp_path / "missing.csv") is None
