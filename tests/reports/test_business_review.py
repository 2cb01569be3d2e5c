"""The monthly business review: its figures on a small shop worked out by hand, the PDF, and the command."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QTranslator

from crmdesk.cli import main
from crmdesk.db import Database, open_database, sqlite_url
from crmdesk.errors import PermissionDenied
from crmdesk.paths import resource_path
from crmdesk.reports.business_review import change_text, review_figures, value_range
from crmdesk.reports.documents import BusinessReviewRequest, make_document, suggested_file_name
from crmdesk.services import complaints, insight, members, purchases, store, surveys
from crmdesk.services import insight_rules as rules
from crmdesk.services.complaints import ComplaintInput
from crmdesk.services.surveys import SurveyInput
from crmdesk.services.uow import Actor, read_session, unit_of_work
from tests.conftest import assert_books_agree
from tests.reports.pdf_tools import all_text, fonts, page_count, page_texts

CN = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 10, 12, 0, tzinfo=CN)
OCTOBER = date(2026, 10, 1)


def at(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=CN)


class Shop:
    """Drives the services as the counter would, each step at its own (shop-local) time."""

    def __init__(self, db, actor) -> None:  # type: ignore[no-untyped-def]
        self.db, self.actor = db, actor
        self.receipts = 0

    def member(self, name: str, phone: str, joined: date) -> int:
        with unit_of_work(self.db) as session:
            return members.register(session, self.actor, members.MemberInput(name=name, phone=phone, joined_on=joined)).id

    def buy(self, member_id: int, fen: int, when: datetime) -> str:
        self.receipts += 1
        receipt = f"R{self.receipts}"
        with unit_of_work(self.db) as session:
            purchases.record_purchase(session, self.actor, member_id, receipt_no=receipt, till="01", amount_fen=fen,
                                      occurred_at=when, now=NOW)
        return receipt

    def refund(self, receipt: str, fen: int, when: datetime) -> None:
        with unit_of_work(self.db) as session:
            purchases.refund(session, self.actor, original_till="01", original_receipt=receipt,
                             refund_receipt=f"{receipt}-RF", amount_fen=fen, occurred_at=when, now=NOW)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, Actor, Path]]:
    """A shop made once for the module (the tests only read it): October 2026, with September 2026 and October
    2025 to compare, refreshed as of 2026-10-31:

    张三  joined 2025-09   2025-10-05 ¥300.00; 2026-09-10 ¥450.00; 2026-10-03 ¥12,345.67; 2026-10-20 ¥888.00,
                            ¥100.00 of it refunded on 10-21
    李四  joined 2025-09   ¥50.00 every three days from 2026-08-01 to 08-16, then away: a churn alert (gap)
    王五  joined 2026-10   2026-10-15 ¥200.00

    October's net sales: 12,345.67 + 888.00 - 100.00 + 200.00 = ¥13,333.67 (September ¥450.00, a year earlier ¥300.00).
    One complaint about product quality and two surveys in October, one survey in September.
    """
    path = tmp_path_factory.mktemp("business-review") / "store.sqlite"
    db = open_database(sqlite_url(path))
    with unit_of_work(db) as session:
        owner = store.initialise(session, owner_name="王店长", owner_password="review-owner-pass", store_name="好邻居超市")
    s = Shop(db, owner)
    zhang = s.member("张三", "13812345678", date(2025, 9, 1))
    li = s.member("李四", "13900000000", date(2025, 9, 1))
    wang = s.member("王五", "13700000000", date(2026, 10, 15))
    s.buy(zhang, 30_000, at(2025, 10, 5))
    s.buy(zhang, 45_000, at(2026, 9, 10))
    s.buy(zhang, 1_234_567, at(2026, 10, 3))
    receipt = s.buy(zhang, 88_800, at(2026, 10, 20))
    s.refund(receipt, 10_000, at(2026, 10, 21))
    for day in range(1, 17, 3):
        s.buy(li, 5_000, at(2026, 8, day))
    s.buy(wang, 20_000, at(2026, 10, 15))
    with unit_of_work(db) as session:
        complaints.log_complaint(session, owner, ComplaintInput(channel="counter", category="quality", description="酸奶过期",
                                                                member_id=zhang, received_at=at(2026, 10, 8)),
                                 now=at(2026, 10, 8))
    for when, score in ((at(2026, 9, 12), 5), (at(2026, 10, 8), 4), (at(2026, 10, 25), 3)):
        with unit_of_work(db) as session:
            surveys.add_response(session, owner, SurveyInput((("attitude", score), ("checkout", score)), taken_at=when),
                                 now=when)
    insight.refresh(db, owner, as_of=date(2026, 10, 31))
    try:
        yield db, owner, path
    finally:
        db.dispose()
        assert_books_agree(path)


@pytest.fixture(scope="module")
def october_pdf(shop: tuple[Database, Actor, Path]) -> bytes:
    db, owner, _path = shop
    return review_pdf(db, owner)


def review_pdf(db, actor, month: date = OCTOBER) -> bytes:  # type: ignore[no-untyped-def]
    return make_document(db, actor, BusinessReviewRequest(month), now=NOW)


# ----------------------------------------------------------------------------- the figures


def test_the_month_beside_the_month_before_and_a_year_earlier(shop: tuple[Database, Actor, Path]) -> None:
    db, owner, _path = shop
    with read_session(db) as session:
        data = review_figures(session, owner, date(2026, 10, 17))
    assert data.month == OCTOBER and data.last_day == date(2026, 10, 31) and data.label == "2026-10"
    assert len(data.days) == 31 and len(data.months) == 13 and len(data.trend) == 6
    this, before, earlier = data.this_month, data.previous_month, data.year_earlier
    assert (this.start, before.start, earlier.start) == (OCTOBER, date(2026, 9, 1), date(2025, 10, 1))
    assert (this.sales_fen, before.sales_fen, earlier.sales_fen) == (1_333_367, 45_000, 30_000)
    assert (this.visits, before.visits, earlier.visits) == (3, 1, 1)
    assert this.new_members == 1
    assert sum(day.sales_fen for day in data.days) == this.sales_fen
    assert data.days[2].last_year_sales_fen == 0 and data.days[4].last_year_sales_fen == 30_000  # 2025-10-05
    assert [p.satisfaction for p in data.trend][-2:] == [5.0, 3.5]
    assert data.complaints == [("Product quality", 1)]
    assert data.refreshed_on == date(2026, 10, 31)
    assert [(row.name, row.alert) for row in data.alerts] == [("李四", "gap")]


def test_changes_are_signed_per_cent_and_need_a_month_to_compare_with() -> None:
    assert change_text(110, 100) == "+10.0 %"
    assert change_text(1_333_367, 45_000) == "+2,863.0 %"
    assert change_text(50, 200) == "\u221275.0 %"
    assert change_text(100, 100) == "±0.0 %"
    assert change_text(100, 0) == "—"


def test_value_axes_hold_zero_and_every_value_in_round_steps() -> None:
    assert value_range([]) == (0, 1, 1)
    assert value_range([0, 0]) == (0, 1, 1)
    assert value_range([12_345.67, 3]) == (0, 15_000, 5_000)
    assert value_range([-120, 480]) == (-200, 600, 200)


# ----------------------------------------------------------------------------- the PDF


def test_review_prints_key_figures_charts_and_alerts(october_pdf: bytes) -> None:
    pdf = october_pdf
    text = all_text(pdf)
    assert page_count(pdf) >= 2
    assert "好邻居超市: business review 2026-10" in text
    assert "¥13,333.67" in text and "¥450.00" in text and "¥300.00" in text
    assert "2026-09" in text and "2025-10" in text
    for label in rules.SEGMENT_LABELS.values():
        assert label in text
    for label in ("Sales by day", "Member visits by day", "RFM segments", "ABC classes", "Lifecycle stages",
                  "Active members by tier", "Points earned and redeemed", "Customer satisfaction", "Product quality"):
        assert label in text
    assert "139****0000" in text and "13900000000" not in text  # the alert's phone, masked
    assert "usually every 3 days; 76 days now" in text
    assert "refresh of 2026-10-31" in text


def test_names_print_translated_in_their_own_context(shop: tuple[Database, Actor, Path], qapp) -> None:  # type: ignore[no-untyped-def]
    db, owner, _path = shop
    translator = QTranslator()
    assert translator.load(str(resource_path("translations", "crmdesk_zh_CN.qm")))
    QCoreApplication.installTranslator(translator)
    try:
        text = all_text(review_pdf(db, owner))
    finally:
        QCoreApplication.removeTranslator(translator)
    assert "商品质量" in text and "按类别统计投诉" in text  # the category ("complaints") and a heading ("reports")
    assert "好邻居超市" in text and "¥13,333.67" in text


def test_every_font_is_the_embedded_report_font(october_pdf: bytes) -> None:
    used = fonts(october_pdf)
    assert used and all(used.values()), used
    assert len(used) == 1, used  # the bundled font alone: no chart falls back to a standard one


def test_an_unreliable_purchase_model_is_said_at_the_end(october_pdf: bytes) -> None:
    last_page = page_texts(october_pdf)[-1]
    assert "Purchase model: Not yet reliable" in last_page  # three members are far too few to fit it


def test_a_month_without_purchases_prints_zeros(shop: tuple[Database, Actor, Path]) -> None:
    db, owner, _path = shop
    pdf = review_pdf(db, owner, date(2024, 3, 1))
    text = all_text(pdf)
    assert "business review 2024-03" in text and "¥0.00" in text
    assert "No complaints were received in 2024-03." in text
    assert "No satisfaction surveys were taken from 2023-10 to 2024-03." in text


def test_a_shop_never_refreshed_still_prints(db, owner) -> None:  # type: ignore[no-untyped-def]
    text = all_text(review_pdf(db, owner))
    assert "¥0.00" in text
    assert "Customer figures have not been worked out yet" in text


def test_the_review_is_the_owners(db, cashier) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied):
        review_pdf(db, cashier)
    assert suggested_file_name(BusinessReviewRequest(OCTOBER)) == "business-review-2026-10.pdf"


# ----------------------------------------------------------------------------- the command


def test_the_command_writes_the_review(shop, tmp_path: Path, capsys, qapp) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "review.pdf"
    code = main(["--lang", "en", "report", "review", "--month", "2026-10", "--out", str(out), "--db", str(shop[2])])
    _stdout, err = capsys.readouterr()
    assert code == 0, err
    text = all_text(out.read_bytes())
    assert "business review 2026-10" in text and "¥13,333.67" in text


def test_a_bad_month_is_refused_and_nothing_written(db, db_path: Path, owner, tmp_path: Path, capsys, qapp) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "review.pdf"
    code = main(["--lang", "en", "report", "review", "--month", "2026-13", "--out", str(out), "--db", str(db_path)])
    _stdout, err = capsys.readouterr()
    assert code != 0
    assert "2026-13" in err
    assert not out.exists()
