"""Money operations asked for twice -- the connection broke just as the server committed, and the cashier pressed
Enter again -- are done once: a top-up, a repayment, a redemption, an offer used with the same request id are refused as done
(with when), the balance moves once; and in the top-up dialog, the second Enter says it was already recorded."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from crmdesk.models import Member, Purchase
from crmdesk.services import credit, loyalty, members, purchases, wallet
from crmdesk.services.members import MemberInput
from crmdesk.services.requests import AlreadyDone
from crmdesk.services.uow import read_session, unit_of_work
from tests.services.test_members import cashier, db, owner, store_template  # noqa: F401 - fast fixtures
from tests.views.dialogs import built


@pytest.fixture
def zhang(db, owner) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        member_id = members.register(session, owner, MemberInput(name="张三", phone="13800138000")).id
        credit.set_limit(session, owner, member_id, 100_000)
    with unit_of_work(db) as session:
        purchases.record_purchase(session, owner, member_id, till="01", amount_fen=50_000, credit_fen=20_000,
                                  payment_method="cash")
    return member_id


def answer_lost(real):  # type: ignore[no-untyped-def]
    """A unit of work that commits and then loses the server's answer: the connection breaks at COMMIT."""
    @contextmanager
    def lost(database):  # type: ignore[no-untyped-def]
        with real(database) as session:
            yield session
        raise sa.exc.OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))
    return lost


def _figures(db, member_id: int) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        member = session.get(Member, member_id)
        return member.wallet_principal_fen, member.credit_owed_fen, member.points_balance


def test_each_money_operation_asked_twice_is_done_once(db, owner, zhang) -> None:  # type: ignore[no-untyped-def]
    operations = [
        lambda session, rid: wallet.top_up(session, owner, zhang, 10_000, payment_method="cash", request_id=rid),
        lambda session, rid: credit.repay(session, owner, zhang, 5_000, payment_method="cash", request_id=rid),
        lambda session, rid: loyalty.redeem(session, owner, zhang, 100, request_id=rid),
    ]
    for number, operation in enumerate(operations):
        with unit_of_work(db) as session:
            operation(session, f"req-{number}")
        once = _figures(db, zhang)
        with pytest.raises(AlreadyDone) as again:
            with unit_of_work(db) as session:
                operation(session, f"req-{number}")
        assert "already recorded" in again.value.message
        assert _figures(db, zhang) == once
    assert _figures(db, zhang) == (10_000, 15_000, 500 - 100)
    with unit_of_work(db) as session:  # another request: done again
        operations[0](session, "req-other")
    assert _figures(db, zhang)[0] == 20_000


def test_the_owners_corrections_asked_twice_are_done_once(db, owner, zhang) -> None:  # type: ignore[no-untyped-def]
    """A wallet correction, a debt written off and a wallet paid back: each moves the money once, however often sent."""
    steps = [
        (lambda session, rid: wallet.adjust(session, owner, zhang, principal_fen=3_000, reason="补录", request_id=rid),
         (3_000, 20_000, 500)),
        (lambda session, rid: credit.write_off(session, owner, zhang, amount_fen=2_000, reason="坏账", request_id=rid),
         (3_000, 18_000, 500)),
        (lambda session, rid: wallet.cash_out(session, owner, zhang, payment_method="cash", request_id=rid),
         (0, 18_000, 500)),
    ]
    for number, (operation, after) in enumerate(steps):
        with unit_of_work(db) as session:
            operation(session, f"fix-{number}")
        assert _figures(db, zhang) == after
        with pytest.raises(AlreadyDone):  # the cash-out's second try is told it was done, not "the wallet is empty"
            with unit_of_work(db) as session:
                operation(session, f"fix-{number}")
        assert _figures(db, zhang) == after


def test_a_sale_sent_twice_without_a_receipt_number_is_recorded_once(db, owner, zhang) -> None:  # type: ignore[no-untyped-def]
    def sell() -> None:
        with unit_of_work(db) as session:
            purchases.record_purchase(session, owner, zhang, till="01", amount_fen=8_800, payment_method="cash",
                                      request_id="sale-7")

    sell()
    once = _figures(db, zhang)
    with pytest.raises(AlreadyDone):
        sell()  # the server gave it a receipt number the till never heard of: the request id recognises it
    assert _figures(db, zhang) == once
    with read_session(db) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Purchase).where(Purchase.amount_fen == 8_800)) == 1


def test_a_refund_sent_twice_without_a_receipt_number_is_given_once(db, owner, zhang) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        sale = purchases.record_purchase(session, owner, zhang, till="01", amount_fen=10_000, payment_method="cash")

    def give_back() -> None:
        with unit_of_work(db) as session:
            purchases.refund(session, owner, original_till="01", original_receipt=sale.receipt_no, amount_fen=3_000,
                             request_id="refund-1")

    give_back()
    once = _figures(db, zhang)
    with pytest.raises(AlreadyDone):
        give_back()
    assert _figures(db, zhang) == once
    with read_session(db) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Purchase).where(Purchase.refund_of_id == sale.purchase_id)) == 1


def test_a_refused_request_can_be_asked_again(db, owner, zhang) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Exception):
        with unit_of_work(db) as session:
            loyalty.redeem(session, owner, zhang, 99_999, request_id="too-much")
    with unit_of_work(db) as session:  # the refusal rolled the id back with everything else
        loyalty.redeem(session, owner, zhang, 10, request_id="too-much")


def test_the_top_up_dialog_asked_again_after_a_lost_answer_says_it_was_done(qtbot, db, owner, zhang, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from crmdesk.services.members import profile as load_profile
    from crmdesk.views import money_dialogs
    from crmdesk.views.money_dialogs import TopUpDialog
    from crmdesk.views.state import AppState

    with read_session(db) as session:
        profile = load_profile(session, zhang)
    dialog = built(TopUpDialog, AppState(db, owner, "en"), profile)
    qtbot.addWidget(dialog)
    dialog.amount_edit.setText("100")
    real = money_dialogs.unit_of_work
    monkeypatch.setattr(money_dialogs, "unit_of_work", answer_lost(real))
    dialog.accept()  # committed on the server, but the till never heard
    assert "cannot be reached" in dialog.message.text() and dialog.result() != dialog.DialogCode.Accepted
    monkeypatch.setattr(money_dialogs, "unit_of_work", real)
    dialog.accept()  # Enter again
    assert dialog.already and "already recorded" in dialog.already and dialog.result() == dialog.DialogCode.Accepted
    assert _figures(db, zhang)[0] == 10_000  # topped up once


def test_the_sale_dialog_asked_again_after_a_lost_answer_records_it_once(qtbot, db, owner, zhang, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from crmdesk.services.members import profile as load_profile
    from crmdesk.views import purchase_dialogs
    from crmdesk.views.purchase_dialogs import PurchaseDialog
    from crmdesk.views.state import AppState

    with read_session(db) as session:
        profile = load_profile(session, zhang)
        sales_before = session.scalar(sa.select(sa.func.count()).select_from(Purchase))
    dialog = built(PurchaseDialog, AppState(db, owner, "en"), profile)
    qtbot.addWidget(dialog)
    dialog.amount_edit.setText("66")  # no receipt number: the server would number it
    real = purchase_dialogs.unit_of_work
    monkeypatch.setattr(purchase_dialogs, "unit_of_work", answer_lost(real))
    dialog.accept()  # committed on the server, but the till never heard
    assert dialog.result() != dialog.DialogCode.Accepted
    monkeypatch.setattr(purchase_dialogs, "unit_of_work", real)
    dialog.accept()  # Enter again
    assert dialog.already and "already recorded" in dialog.already and dialog.result() == dialog.DialogCode.Accepted
    with read_session(db) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Purchase)) == sales_before + 1


def _points_gift(db, owner) -> int:  # type: ignore[no-untyped-def]
    from crmdesk.models import OfferKind
    from crmdesk.services import offers

    with unit_of_work(db) as session:
        return offers.create_offer(session, owner, offers.OfferInput(
            name="积分换鸡蛋", kind=OfferKind.GIFT, gift="鸡蛋", points_cost=200)).id


def test_an_offer_applied_twice_spends_its_points_once(db, owner, zhang) -> None:  # type: ignore[no-untyped-def]
    from crmdesk.models import OfferRedemption
    from crmdesk.services import offers

    gift = _points_gift(db, owner)
    with unit_of_work(db) as session:
        first = offers.apply(session, owner, gift, zhang, request_id="offer-1")
    once = _figures(db, zhang)
    with pytest.raises(AlreadyDone) as again:
        with unit_of_work(db) as session:
            offers.apply(session, owner, gift, zhang, request_id="offer-1")
    assert again.value.made_id == first.id and _figures(db, zhang) == once
    with read_session(db) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(OfferRedemption)) == 1


def test_the_offers_panel_clicked_again_after_a_lost_answer_uses_the_offer_once(qtbot, db, owner, zhang, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from crmdesk.views import eligible_offers
    from crmdesk.views.eligible_offers import EligibleOffersWidget
    from crmdesk.views.state import AppState

    gift = _points_gift(db, owner)
    widget = EligibleOffersWidget(AppState(db, owner, "en"))
    qtbot.addWidget(widget)
    widget.show_member(zhang)
    points = _figures(db, zhang)[2]
    real = eligible_offers.unit_of_work
    monkeypatch.setattr(eligible_offers, "unit_of_work", answer_lost(real))
    with qtbot.assertNotEmitted(widget.applied):
        widget.apply_offer(gift)  # committed on the server, but the till never heard
    assert "cannot be reached" in widget.message.text()
    monkeypatch.setattr(eligible_offers, "unit_of_work", real)
    with qtbot.waitSignal(widget.applied) as signal:
        widget.apply_offer(gift)  # Apply again: the same request
    assert signal.args[0] is None and "already recorded" in widget.message.text()
    assert _figures(db, zhang)[2] == points - 200  # spent once
    with qtbot.waitSignal(widget.applied) as signal:
        widget.apply_offer(gift)  # a new click once answered: a new use
    assert signal.args[0] is not None and _figures(db, zhang)[2] == points - 400
