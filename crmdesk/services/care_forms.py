"""What the complaint form and the satisfaction survey show when they open, each read in one go: the counter
and the complaints board ask for it on the operations thread (views/operations.py) and open the form with the
answer, so F8 and F9 never wait on the database on the UI thread."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from crmdesk.models import Priority, PurchaseKind
from crmdesk.services import complaints, members, purchases, surveys
from crmdesk.services.complaints import CategoryInfo, ChoiceInfo
from crmdesk.services.members import MemberProfile
from crmdesk.services.purchases import PurchaseRow

RECENT_SALES = 15  # the member's latest sales offered as the receipt complained about


@dataclass(frozen=True)
class ComplaintForm:
    member_id: int | None  # None: a walk-in customer
    member: MemberProfile | None
    channels: list[ChoiceInfo]
    categories: list[CategoryInfo]
    priorities: dict[str, Priority]  # category code -> its default priority for this customer
    recent_sales: list[PurchaseRow]


@dataclass(frozen=True)
class SurveyForm:
    member_id: int | None
    member: MemberProfile | None
    dimensions: list[ChoiceInfo]
    channels: list[ChoiceInfo]


def complaint_form(session: Session, member_id: int | None) -> ComplaintForm:
    member = members.profile(session, member_id, recent_visits=0) if member_id else None
    sales = ([row for row in purchases.history_page(session, member_id, limit=2 * RECENT_SALES)
              if row.kind is PurchaseKind.SALE][:RECENT_SALES] if member_id else [])
    return ComplaintForm(member_id, member, complaints.list_channels(session), complaints.list_categories(session),
                         complaints.default_priorities(session, member_id), sales)


def survey_form(session: Session, member_id: int | None) -> SurveyForm:
    member = members.profile(session, member_id, recent_visits=0) if member_id else None
    return SurveyForm(member_id, member, surveys.list_dimensions(session), complaints.list_channels(session))
