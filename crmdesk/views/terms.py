"""The words people see for stored values: statuses, kinds, payment methods, sources.

Services keep codes and enums; every screen shows them through these functions, so
a value reads the same everywhere and always in the interface's language.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from crmdesk.models import MemberStatus, PointsKind, PurchaseKind
from crmdesk.services.loyalty import POINTS_KIND_LABELS, reason_parts
from crmdesk.services.member_query import STATUS_LABELS
from crmdesk.services.members import SOURCE_LABELS
from crmdesk.services.payments import ACCOUNT_METHODS, PAYMENT_METHODS
from crmdesk.services.purchases import PURCHASE_KIND_LABELS


def _term(text: str) -> str:
    return QCoreApplication.translate("terms", text)


def member_status_text(status: MemberStatus) -> str:
    return _term(STATUS_LABELS[status])


def purchase_kind_text(kind: PurchaseKind) -> str:
    return _term(PURCHASE_KIND_LABELS[kind])


def points_kind_text(kind: PointsKind) -> str:
    return _term(POINTS_KIND_LABELS[kind])


def payment_method_text(code: str) -> str:
    """The method's name; a code from another system as it is; an empty one as a dash."""
    if not code:
        return "—"
    labels = {**PAYMENT_METHODS, **ACCOUNT_METHODS}
    return _term(labels[code]) if code in labels else code


def source_text(code: str) -> str:
    if not code:
        return "—"
    return _term(SOURCE_LABELS[code]) if code in SOURCE_LABELS else code


def percent_text(basis_points: int) -> str:
    """250 -> '2.5', 200 -> '2': a percentage without trailing zeros."""
    whole, rest = divmod(basis_points, 100)
    return f"{whole}" if rest == 0 else f"{whole}.{rest:02d}".rstrip("0")


def ledger_reason_text(reason: str) -> str:
    """A points entry's reason: the program's own in the interface's language, a typed one as typed."""
    parts = reason_parts(reason)
    if parts is None:
        return reason
    template, values = parts
    return QCoreApplication.translate("ledger", template).format(**values)


def term(label: str) -> str:
    """A value's English label (from a service's label table) in the interface's language."""
    return _term(label)
