"""What each role may not do is refused by the services themselves, with nothing changed."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crmdesk.errors import Conflict, InvalidInput, PermissionDenied
from crmdesk.models import AuditEvent, Role, Staff
from crmdesk.services import staff as staff_service
from crmdesk.services import store
from crmdesk.services.uow import read_session, unit_of_work


def _snapshot(db) -> tuple:  # type: ignore[no-untyped-def]
    """Everything a refused operation must leave as it was."""
    with read_session(db) as session:
        staff_rows = session.execute(
            sa.select(Staff.id, Staff.name, Staff.role, Staff.active, Staff.pin_hash, Staff.password_hash).order_by(Staff.id)
        ).all()
        audit_count = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
        shop = store.get_store(session)
    return staff_rows, audit_count, shop


def _refused(db, operation, error=PermissionDenied, match=None):  # type: ignore[no-untyped-def]
    before = _snapshot(db)
    with pytest.raises(error, match=match):
        with unit_of_work(db) as session:
            operation(session)
    assert _snapshot(db) == before


def test_cashier_cannot_change_store_settings(db, cashier) -> None:
    _refused(db, lambda s: store.update_store(s, cashier, store_name="改名", address="", phone=""), match="may not change the store settings")


def test_cashier_cannot_add_staff(db, cashier) -> None:
    _refused(db, lambda s: staff_service.add_staff(s, cashier, "新人", Role.CASHIER, pin="1111"), match="may not manage staff")


def test_cashier_cannot_disable_staff(db, owner, cashier) -> None:
    _refused(db, lambda s: staff_service.set_active(s, cashier, owner.staff_id, False))


def test_cashier_cannot_reset_a_pin(db, owner, cashier) -> None:
    _refused(db, lambda s: staff_service.reset_pin(s, cashier, owner.staff_id, "0000"))


def test_cashier_cannot_set_someone_elses_password(db, owner, cashier) -> None:
    _refused(db, lambda s: staff_service.set_password(s, cashier, owner.staff_id, "taken-over-1"))


def test_supervisor_cannot_manage_staff(db, supervisor, cashier) -> None:
    _refused(db, lambda s: staff_service.add_staff(s, supervisor, "新人", Role.CASHIER, pin="1111"))
    _refused(db, lambda s: staff_service.reset_pin(s, supervisor, cashier.staff_id, "0000"))
    _refused(db, lambda s: staff_service.set_active(s, supervisor, cashier.staff_id, False))


def test_supervisor_may_change_store_settings_and_it_is_audited(db, supervisor) -> None:
    with unit_of_work(db) as session:
        info = store.update_store(session, supervisor, store_name="好邻居超市 二店", address="幸福路 8 号", phone="021-5555 0000")
    assert info.store_name == "好邻居超市 二店"
    with read_session(db) as session:
        event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "store.update"))
        assert event is not None and event.staff_name == supervisor.name
        assert event.details["changed"]["store_name"] == ["好邻居超市", "好邻居超市 二店"]


def test_anyone_may_change_their_own_password(db, cashier) -> None:
    with unit_of_work(db) as session:
        info = staff_service.set_password(session, cashier, cashier.staff_id, "my-own-secret")
    assert info.has_password


def test_owner_manages_staff_and_every_change_names_the_owner(db, owner) -> None:
    with unit_of_work(db) as session:
        added = staff_service.add_staff(session, owner, "  收银员  小张 ", Role.CASHIER, pin="4321")
        staff_service.set_active(session, owner, added.id, False)
        staff_service.set_active(session, owner, added.id, True)
        staff_service.reset_pin(session, owner, added.id, "8765")
    assert added.name == "收银员 小张"
    with read_session(db) as session:
        events = session.execute(
            sa.select(AuditEvent.action, AuditEvent.staff_name).where(AuditEvent.entity_id == added.id, AuditEvent.entity_type == "staff")
        ).all()
    assert [action for action, _ in events] == ["staff.add", "staff.disable", "staff.enable", "staff.reset_pin"]
    assert {name for _, name in events} == {owner.name}


def test_staff_names_are_unique(db, owner, cashier) -> None:
    _refused(db, lambda s: staff_service.add_staff(s, owner, cashier.name, Role.CASHIER, pin="1111"), error=Conflict, match="already a staff member")


def test_bad_staff_input_is_refused(db, owner) -> None:
    _refused(db, lambda s: staff_service.add_staff(s, owner, "   ", Role.CASHIER, pin="1111"), error=InvalidInput, match="name")
    _refused(db, lambda s: staff_service.add_staff(s, owner, "新人", Role.CASHIER, pin="12"), error=InvalidInput, match="PIN")
    _refused(db, lambda s: staff_service.add_staff(s, owner, "新人", Role.CASHIER), error=InvalidInput, match="PIN or a password")


def test_owner_cannot_disable_themselves_or_the_last_owner(db, owner) -> None:
    _refused(db, lambda s: staff_service.set_active(s, owner, owner.staff_id, False), error=Conflict, match="your own account")
    with unit_of_work(db) as session:
        second = staff_service.add_staff(session, owner, "老板娘", Role.OWNER, password="second-owner-1")
    with unit_of_work(db) as session:
        staff_service.set_active(session, owner, second.id, False)


def test_store_name_is_required(db, owner) -> None:
    _refused(db, lambda s: store.update_store(s, owner, store_name="  ", address="", phone=""), error=InvalidInput, match="store's name")


def test_initialising_twice_is_refused(db, owner) -> None:
    _refused(db, lambda s: store.initialise(s, owner_name="别人", owner_password="another-pass-1"), error=Conflict, match="already set up")
