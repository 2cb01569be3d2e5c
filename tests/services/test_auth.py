"""Signing in with passwords and PINs, lock-out, and how secrets are stored."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from crmdesk.errors import AuthenticationFailed, InvalidInput
from crmdesk.models import AuditEvent, Staff
from crmdesk.services import auth
from crmdesk.services import staff as staff_service
from crmdesk.services.uow import read_session, unit_of_work
from tests.conftest import OWNER_NAME, OWNER_PASSWORD


def test_secrets_are_stored_only_as_argon2_hashes(db, owner, cashier) -> None:
    with read_session(db) as session:
        stored = [h for row in session.scalars(sa.select(Staff)) for h in (row.password_hash, row.pin_hash) if h]
    assert len(stored) == 2
    for value in stored:
        assert value.startswith("$argon2")
        assert OWNER_PASSWORD not in value


def test_owner_signs_in_with_password_and_cashier_with_pin(db, owner, cashier) -> None:
    assert auth.authenticate(db, OWNER_NAME, OWNER_PASSWORD) == owner
    assert auth.authenticate(db, cashier.name, "1234") == cashier


def test_wrong_secret_and_unknown_name_are_refused(db, owner, cashier) -> None:
    with pytest.raises(AuthenticationFailed, match="lock-out: 4"):
        auth.authenticate(db, cashier.name, "9999")
    with pytest.raises(AuthenticationFailed, match="Wrong name"):
        auth.authenticate(db, "没有这个人", "1234")


def test_repeated_failures_lock_the_account_until_the_lockout_ends(db, owner, cashier) -> None:
    now = datetime(2026, 11, 22, 9, 0, tzinfo=timezone.utc)
    for _ in range(auth.MAX_FAILED_ATTEMPTS - 1):
        with pytest.raises(AuthenticationFailed, match="Attempts left"):
            auth.authenticate(db, cashier.name, "0000", now=now)
    with pytest.raises(AuthenticationFailed, match="locked for 5 min"):
        auth.authenticate(db, cashier.name, "0000", now=now)
    # The next attempt at once says the same 5 minutes (not 6), and the count goes down as time passes.
    with pytest.raises(AuthenticationFailed, match="Try again in 5 min"):
        auth.authenticate(db, cashier.name, "0000", now=now)
    # Even the right PIN is refused while locked.
    with pytest.raises(AuthenticationFailed, match="Try again in 4 min"):
        auth.authenticate(db, cashier.name, "1234", now=now + timedelta(minutes=1))
    with pytest.raises(AuthenticationFailed, match="Try again in 1 min"):
        auth.authenticate(db, cashier.name, "1234", now=now + timedelta(minutes=4, seconds=59))
    assert auth.authenticate(db, cashier.name, "1234", now=now + auth.LOCKOUT + timedelta(seconds=1)) == cashier
    with read_session(db) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "staff.locked_out")) == 1


def test_resetting_the_pin_lifts_a_lockout(db, owner, cashier) -> None:
    for _ in range(auth.MAX_FAILED_ATTEMPTS):
        with pytest.raises(AuthenticationFailed):
            auth.authenticate(db, cashier.name, "0000")
    with unit_of_work(db) as session:
        info = staff_service.reset_pin(session, owner, cashier.staff_id, "5678")
    assert not info.locked
    assert auth.authenticate(db, cashier.name, "5678") == cashier
    with pytest.raises(AuthenticationFailed):
        auth.authenticate(db, cashier.name, "1234")


def test_a_disabled_account_cannot_sign_in(db, owner, cashier) -> None:
    with unit_of_work(db) as session:
        staff_service.set_active(session, owner, cashier.staff_id, False)
    with pytest.raises(AuthenticationFailed):
        auth.authenticate(db, cashier.name, "1234")


def test_full_width_digits_from_a_chinese_input_method_are_the_same_pin(db, owner, cashier) -> None:
    assert auth.authenticate(db, cashier.name, "１２３４") == cashier


@pytest.mark.parametrize("pin", ["123", "1234567", "12a4", "", "١٢٣٤"])
def test_bad_pins_are_refused(pin: str) -> None:
    with pytest.raises(InvalidInput, match="4 to 6 digits"):
        auth.validate_pin(pin)


def test_short_password_is_refused() -> None:
    with pytest.raises(InvalidInput, match="at least 8"):
        auth.validate_password("short")
