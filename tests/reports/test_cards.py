"""Printed membership cards: who gets a card, and that the printed barcodes scan."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timezone

import pypdf
import pypdfium2 as pdfium
import pytest
import sqlalchemy as sa

from crmdesk.db import Database
from crmdesk.errors import InvalidInput, NotFound
from crmdesk.models import Tier
from crmdesk.reports.base import ReportCancelled, ReportContext
from crmdesk.reports.cards import CardLayout, render_cards
from crmdesk.services import cards, members, purchases
from crmdesk.services.card_faces import CardFace, CardFaces, card_faces
from crmdesk.services.member_query import MemberFilter
from crmdesk.services.members import MemberInput
from crmdesk.services.store import get_store
from crmdesk.services.uow import Actor, read_session, unit_of_work
from tests.reports.pdf_tools import all_text, barcodes, fonts, page_count, page_image, page_texts

MM = 72 / 25.4
LONG_NAME = "Maximilian Alexander Wolfgang 欧阳 von Hohenzollern-Sigmaringen 的远房表亲"
# (name, 12-month spend in yuan that sets the tier: 0 普通, 8000 金卡, 20000 钻石)
PEOPLE = [
    ("张三", 0), ("李小龙", 8000), ("欧阳娜娜", 20000), (LONG_NAME, 0), ("王五", 8000), ("Li Wei", 0),
    ("陈", 20000), ("赵六六", 0), ("孙悟空", 8000), ("Anne-Marie O'Neil", 0), ("周杰", 0),
]
NO_CARD = "没有卡"


@dataclass(frozen=True)
class Shop:
    ctx: ReportContext
    ids: dict[str, int]  # member name -> id
    numbers: dict[str, str]  # member name -> active card number


@pytest.fixture
def shop(db: Database, owner: Actor) -> Shop:
    """Eleven members with cards in three tiers, and one without a card."""
    ids: dict[str, int] = {}
    numbers: dict[str, str] = {}
    with unit_of_work(db) as session:
        for receipt, (name, spend) in enumerate(PEOPLE, start=1):
            member_id = members.register(session, owner, MemberInput(name=name)).id
            ids[name] = member_id
            numbers[name] = cards.issue(session, owner, member_id)
            if spend:
                purchases.record_purchase(session, owner, member_id, receipt_no=f"R{receipt}", till="1",
                                          amount_fen=spend * 100)
        ids[NO_CARD] = members.register(session, owner, MemberInput(name=NO_CARD)).id
        store_name = get_store(session).store_name
    ctx = ReportContext(store_name=store_name, generated_by=owner.name, generated_at=datetime.now(timezone.utc))
    return Shop(ctx, ids, numbers)


def _faces(db: Database, **selection: object) -> CardFaces:
    with read_session(db) as session:
        return card_faces(session, **selection)  # type: ignore[arg-type]


def _tier_id(db: Database, name: str) -> int:
    with read_session(db) as session:
        return session.scalar(sa.select(Tier.id).where(Tier.name == name))


def _face(name: str, number: str, tier: tuple[str, str] = ("普通", "#8c8c8c")) -> CardFace:
    return CardFace(1, "M00000001", name, number, *tier)


# ----------------------------------------------------------------------------- choosing the cards


def test_a_filter_gives_every_member_with_a_card_in_list_order(db: Database, shop: Shop) -> None:
    chosen = _faces(db, flt=MemberFilter())
    assert [f.name for f in chosen.faces] == [name for name, _spend in PEOPLE]  # member number order
    assert chosen.without_card == 1
    assert NO_CARD not in {f.name for f in chosen.faces}
    by_name = {f.name: f for f in chosen.faces}
    assert all(by_name[name].card_number == number for name, number in shop.numbers.items())
    assert (by_name["李小龙"].tier_name, by_name["李小龙"].tier_colour) == ("金卡", "#d4af37")
    assert (by_name["陈"].tier_name, by_name["陈"].tier_colour) == ("钻石", "#4fb3d9")
    assert (by_name["张三"].tier_name, by_name["张三"].tier_colour) == ("普通", "#8c8c8c")
    assert by_name["张三"].member_no == f"M{shop.ids['张三']:08d}"


def test_a_filter_narrows_and_sorts(db: Database, shop: Shop) -> None:
    gold = _faces(db, flt=MemberFilter(tier_ids=(_tier_id(db, "金卡"),)), sort="member_no", descending=True)
    assert [f.name for f in gold.faces] == ["孙悟空", "王五", "李小龙"]
    assert gold.without_card == 0


def test_a_replaced_card_prints_only_the_new_one(db: Database, owner: Actor, shop: Shop) -> None:
    with unit_of_work(db) as session:
        new_number = cards.replace_card(session, owner, shop.ids["张三"])
    faces = _faces(db, member_ids=[shop.ids["张三"]]).faces
    assert [f.card_number for f in faces] == [new_number] != [shop.numbers["张三"]]


def test_chosen_ids_print_in_the_order_given(db: Database, shop: Shop) -> None:
    order = ["周杰", NO_CARD, "陈", "张三", "陈"]
    chosen = _faces(db, member_ids=[shop.ids[name] for name in order])
    assert [f.name for f in chosen.faces] == ["周杰", "陈", "张三"]  # chosen twice, printed once
    assert chosen.without_card == 1
    with pytest.raises(NotFound):
        _faces(db, member_ids=[shop.ids["张三"], 9999])


def test_nothing_to_print_is_said_plainly(db: Database, shop: Shop) -> None:
    chosen = _faces(db, member_ids=[shop.ids[NO_CARD]])
    assert chosen == CardFaces(faces=(), without_card=1)
    with pytest.raises(InvalidInput, match="nothing to print"):
        render_cards(chosen.faces, shop.ctx)


# ----------------------------------------------------------------------------- the printed sheet


def test_every_barcode_on_a_sheet_scans_as_its_card_number(db: Database, shop: Shop) -> None:
    faces = _faces(db, flt=MemberFilter()).faces
    pdf = render_cards(faces, shop.ctx)
    assert page_count(pdf) == 2  # 10 cards a page, and one more
    found = barcodes(page_image(pdf, 0, dpi=300))
    assert sorted(found) == sorted(("Code128", f.card_number) for f in faces[:10])
    assert barcodes(page_image(pdf, 1, dpi=300)) == [("Code128", faces[10].card_number)]


def test_qr_codes_scan_too(db: Database, shop: Shop) -> None:
    faces = _faces(db, flt=MemberFilter()).faces[:10]
    found = barcodes(page_image(render_cards(faces, shop.ctx, qr=True), 0, dpi=300))
    expected = {f.card_number for f in faces}
    assert {text for kind, text in found if kind == "Code128"} == expected
    assert {text for kind, text in found if kind == "QRCode"} == expected
    assert len(found) == 20


def test_names_and_store_print_in_embedded_fonts(db: Database, shop: Shop) -> None:
    faces = _faces(db, flt=MemberFilter()).faces
    pdf = render_cards(faces, shop.ctx, qr=True)
    text = all_text(pdf)
    assert "好邻居超市" in text
    for name in ("张三", "欧阳娜娜", "孙悟空", "Li Wei"):
        assert name in text
    # The long name may wrap onto two lines; every character of it is printed.
    assert "".join(LONG_NAME.split()) in "".join(text.split())
    assert "Member No." in text
    assert fonts(pdf) and all(fonts(pdf).values()), fonts(pdf)
    info = pypdf.PdfReader(io.BytesIO(pdf)).metadata
    assert info.title == "Membership cards" and info.author == shop.ctx.generated_by


# ----------------------------------------------------------------------------- single cards


def test_single_cards_are_one_card_sized_page_each(db: Database, shop: Shop) -> None:
    faces = _faces(db, member_ids=[shop.ids["张三"], shop.ids[LONG_NAME], shop.ids["陈"]]).faces
    pdf = render_cards(faces, shop.ctx, layout=CardLayout.SINGLE, qr=True)
    pages = pypdf.PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) == 3
    for page in pages:
        assert float(page.mediabox.width) / MM == pytest.approx(85.6, abs=0.1)
        assert float(page.mediabox.height) / MM == pytest.approx(54, abs=0.1)
    for index, face in enumerate(faces):
        assert sorted(barcodes(page_image(pdf, index, dpi=300))) == [("Code128", face.card_number), ("QRCode", face.card_number)]
        assert face.name.split()[0] in page_texts(pdf)[index]


@pytest.mark.parametrize(
    "name",
    [
        LONG_NAME,
        "爱新觉罗" * 25,  # the longest name a member may have: 100 characters
        "W" * 100,
        "W" * 300,  # more than a member may have: cut short with "…" rather than printed off the card
        "Supercalifragilisticexpialidocious-Wolfeschlegelsteinhausenbergerdorff",
    ],
)
def test_a_long_name_stays_on_the_card(shop: Shop, name: str) -> None:
    pdf = render_cards([_face(name, "2900000000018")], shop.ctx, layout=CardLayout.SINGLE)
    width, height = 85.6 * MM, 54 * MM
    boxes = _char_boxes(pdf)
    assert boxes
    for left, bottom, right, top in boxes:
        assert 0 <= left and right <= width and 0 <= bottom and top <= height
    assert barcodes(page_image(pdf, 0, dpi=300)) == [("Code128", "2900000000018")]


def _char_boxes(pdf: bytes) -> list[tuple[float, float, float, float]]:
    """(left, bottom, right, top) of every printed character of the first page, in points."""
    document = pdfium.PdfDocument(pdf)
    try:
        text_page = document[0].get_textpage()
        return [text_page.get_charbox(i) for i in range(text_page.count_chars()) if not text_page.get_text_range(i, 1).isspace()]
    finally:
        document.close()


# ----------------------------------------------------------------------------- progress and cancel


def test_progress_counts_every_card(shop: Shop) -> None:
    faces = [_face(f"会员{i}", cards.make_card_number("29", i)) for i in range(1, 14)]
    seen: list[tuple[int, int]] = []
    render_cards(faces, shop.ctx, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(done, 13) for done in range(1, 14)]
    seen.clear()
    render_cards(faces[:3], shop.ctx, layout=CardLayout.SINGLE, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (3, 3)


def test_cancel_stops_the_cards(shop: Shop) -> None:
    faces = [_face(f"会员{i}", cards.make_card_number("29", i)) for i in range(1, 14)]
    with pytest.raises(ReportCancelled):
        render_cards(faces, shop.ctx, should_cancel=lambda: True)
    drawn: list[int] = []
    with pytest.raises(ReportCancelled):
        render_cards(faces, shop.ctx, layout=CardLayout.SINGLE, progress=lambda done, _total: drawn.append(done),
                     should_cancel=lambda: len(drawn) >= 4)
    assert drawn == [1, 2, 3, 4]
