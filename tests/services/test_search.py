"""Finding a member at the counter: exact lookups and search-as-you-type."""

from __future__ import annotations

import pytest

from crmdesk.models import CardStatus, MemberStatus
from crmdesk.services import cards, members, search
from crmdesk.services.members import MemberInput
from crmdesk.services.search import MatchedBy
from crmdesk.services.uow import read_session, unit_of_work
from tests.services.test_members import cashier, db, owner, store_template, supervisor  # noqa: F401 - fast fixtures

ZHANG_CARD = "2900000000018"


@pytest.fixture
def people(db, cashier, supervisor):  # type: ignore[no-untyped-def]
    """A few members as a small shop has them; returns their ids by name."""
    ids = {}
    with unit_of_work(db) as session:
        for name, phone in (("张三", "13800138000"), ("张三丰", "13912348000"), ("曾小贤", "13700001234"),
                            ("李四", "+85291234567"), ("Anna Li", "13655556666")):
            ids[name] = members.register(session, cashier, MemberInput(name=name, phone=phone)).id
        cards.issue(session, cashier, ids["张三"], ZHANG_CARD)
    return ids


def _names(db, query: str, **kwargs) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        return [(hit.member.name, hit.matched_by.value) for hit in search.search(session, query, **kwargs)]


def _lookup(db, key: str) -> search.Lookup:  # type: ignore[no-untyped-def]
    with read_session(db) as session:
        return search.lookup(session, key)


def test_lookup_by_card_member_number_and_phone(db, people) -> None:
    zhang = people["张三"]
    for key, matched_by in ((ZHANG_CARD, MatchedBy.CARD), (f" {ZHANG_CARD}\n", MatchedBy.CARD),
                            ("M00000001", MatchedBy.MEMBER_NO), ("m00000001", MatchedBy.MEMBER_NO),
                            ("13800138000", MatchedBy.PHONE), ("138 0013 8000", MatchedBy.PHONE),
                            ("+86 138 0013 8000", MatchedBy.PHONE), ("+8613800138000", MatchedBy.PHONE),
                            ("１３８００１３８０００", MatchedBy.PHONE)):
        found = _lookup(db, key)
        assert found.member is not None and found.member.id == zhang, key
        assert (found.matched_by, found.card_warning) == (matched_by, None), key
    brief = _lookup(db, ZHANG_CARD).member
    assert brief is not None and (brief.card_number, brief.phone, brief.status) == (ZHANG_CARD, "+8613800138000", MemberStatus.ACTIVE)
    assert _lookup(db, "+852 9123 4567").member.id == people["李四"]  # type: ignore[union-attr]
    for nothing in ("", "   ", "2900000000025", "M99999999", "13800138001", "zs"):
        assert _lookup(db, nothing) == search.Lookup(None, None), nothing


def test_typed_phones_find_the_member(db, people) -> None:
    for query in ("13800138000", "138 0013 8000", "+86 138 0013 8000", "１３８００１３８０００"):
        assert _names(db, query) == [("张三", "phone")], query


def test_phones_with_dashes_and_full_width_tails_find_the_member(db, people) -> None:
    assert _names(db, "138-0013-8000") == [("张三", "phone")]
    assert _names(db, "８０００") == [("张三丰", "phone_tail"), ("张三", "phone_tail")]


def test_last_four_digits_and_phone_prefix(db, people) -> None:
    assert sorted(_names(db, "8000")) == [("张三", "phone_tail"), ("张三丰", "phone_tail")]
    assert _names(db, "1234") == [("曾小贤", "phone_tail")]
    assert _names(db, "13800") == [("张三", "phone_prefix")]
    assert _names(db, "137") == [("曾小贤", "phone_prefix")]
    assert _names(db, "13") == []  # two digits say too little to list anyone
    assert _names(db, "9999") == []


def test_pinyin_initials_full_pinyin_and_chinese_names(db, people) -> None:
    assert _names(db, "zs")[0] == ("张三", "initials")  # the exact initials first
    assert ("张三丰", "initials") in _names(db, "zs")
    assert _names(db, "ZS")[0] == ("张三", "initials")
    assert _names(db, "zsf") == [("张三丰", "initials")]
    assert sorted(_names(db, "zhangsan")) == [("张三", "pinyin"), ("张三丰", "pinyin")]
    assert _names(db, "zhangsanf") == [("张三丰", "pinyin")]
    assert sorted(_names(db, "zhang")) == [("张三", "pinyin"), ("张三丰", "pinyin")]
    assert _names(db, "张三丰") == [("张三丰", "name")]
    assert sorted(_names(db, "张")) == [("张三", "name"), ("张三丰", "name")]
    assert _names(db, "anna") == [("Anna Li", "pinyin")]
    assert _names(db, "王") == [] and _names(db, "") == [] and _names(db, "   ") == []


def test_a_surname_is_read_as_a_surname(db, people) -> None:
    # 曾 is céng in 曾经 but zēng as a surname.
    assert _names(db, "zeng") == [("曾小贤", "pinyin")]
    assert _names(db, "zengxiaoxian") == [("曾小贤", "pinyin")]
    assert _names(db, "zxx") == [("曾小贤", "initials")]
    assert _names(db, "ceng") == []


def test_the_limit_is_kept(db, people) -> None:
    assert len(_names(db, "zhang", limit=1)) == 1
    assert len(_names(db, "zs", limit=1)) == 1


@pytest.mark.parametrize(("end", "status"), [(cards.report_lost, CardStatus.LOST), (cards.close_card, CardStatus.CLOSED)])
def test_a_card_that_stopped_working_gives_a_warning_not_the_member(db, people, cashier, end, status) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(db) as session:
        end(session, cashier, ZHANG_CARD)
    found = _lookup(db, ZHANG_CARD)
    assert found.member is None and found.matched_by is MatchedBy.CARD
    warning = found.card_warning
    assert warning is not None
    assert (warning.number, warning.status, warning.member_name, warning.member_no) == (ZHANG_CARD, status, "张三", "M00000001")
    assert warning.ended_at is not None and warning.ended_at.tzinfo is not None
    assert _names(db, ZHANG_CARD) == []  # the counter's list does not show the member either
    assert _lookup(db, "13800138000").member.id == people["张三"]  # type: ignore[union-attr]


def test_a_replaced_card_gives_a_warning_and_the_new_one_works(db, people, cashier) -> None:
    with unit_of_work(db) as session:
        new_number = cards.replace_card(session, cashier, people["张三"])
    old = _lookup(db, ZHANG_CARD)
    assert old.member is None and old.card_warning is not None and old.card_warning.status is CardStatus.REPLACED
    assert _lookup(db, new_number).member.id == people["张三"]  # type: ignore[union-attr]


def test_closed_members_rank_after_open_ones(db, people, cashier, supervisor) -> None:
    with unit_of_work(db) as session:
        members.set_status(session, supervisor, people["张三"], MemberStatus.CLOSED, reason="搬家")
        # The number goes to someone new, who is found first.
        newcomer = members.register(session, cashier, MemberInput(name="新号主", phone="13800138000")).id
    assert _names(db, "8000")[-1] == ("张三", "phone_tail")
    found = _lookup(db, "13800138000")
    assert found.member is not None and found.member.id == newcomer
    assert _names(db, "13800138000")[0] == ("新号主", "phone")
    assert _names(db, "13800138000")[-1][0] == "张三"
    ranked = _names(db, "zs")
    assert ranked[-1] == ("张三", "initials") and ("张三丰", "initials") in ranked
    # Alone, a closed member is still found (the cashier sees the status).
    with read_session(db) as session:
        hits = search.search(session, "M00000001")
    assert [(h.member.name, h.member.status) for h in hits] == [("张三", MemberStatus.CLOSED)]
