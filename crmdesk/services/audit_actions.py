"""What the audit log's action names mean to a person, and which actions are sensitive.

Shared by the audit log screen, the command line and the audit export: each
action recorded with ``audit.record`` has an English label here, marked for
translation in the "audit" context (the GUI translates it with
QCoreApplication.translate("audit", ...); the command line prints the English).
An action without a label shows its raw name. Detail values that are codes (a
status, a payment method, a kind, a complaint category) read through the label
map ``value_words`` names for them, in the reader's language too. No Qt here.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from crmdesk.models import ComplaintCategory, ComplaintChannel
from crmdesk.texts import QT_TRANSLATE_NOOP

# (context, English) -> the reader's language; the command line keeps the English.
Translate = Callable[[str, str], str]


def english(_context: str, text: str) -> str:
    return text


ACTION_LABELS: dict[str, str] = {
    # Members
    "member.add": QT_TRANSLATE_NOOP("audit", "Registered a member"),
    "member.update": QT_TRANSLATE_NOOP("audit", "Changed a member's details"),
    "member.status": QT_TRANSLATE_NOOP("audit", "Changed a member's status"),
    "member.merge": QT_TRANSLATE_NOOP("audit", "Merged two members"),
    "member.import": QT_TRANSLATE_NOOP("audit", "Imported members"),
    "member.export": QT_TRANSLATE_NOOP("audit", "Exported the member list"),
    "member.print_list": QT_TRANSLATE_NOOP("audit", "Printed the member list"),
    "member.erase": QT_TRANSLATE_NOOP("audit", "Erased a member's personal data"),
    "member.export_data": QT_TRANSLATE_NOOP("audit", "Gave a member a copy of their data"),
    "member.consent": QT_TRANSLATE_NOOP("audit", "Recorded consent"),
    "saved_filter.add": QT_TRANSLATE_NOOP("audit", "Saved a member group"),
    "saved_filter.update": QT_TRANSLATE_NOOP("audit", "Changed a member group"),
    "saved_filter.delete": QT_TRANSLATE_NOOP("audit", "Deleted a member group"),
    # Cards
    "card.issue": QT_TRANSLATE_NOOP("audit", "Issued a card"),
    "card.replaced": QT_TRANSLATE_NOOP("audit", "Replaced a card"),
    "card.lost": QT_TRANSLATE_NOOP("audit", "Reported a card lost"),
    "card.closed": QT_TRANSLATE_NOOP("audit", "Closed a card"),
    # Points, tiers and their rules
    "points.redeem": QT_TRANSLATE_NOOP("audit", "Redeemed points"),
    "points.adjust": QT_TRANSLATE_NOOP("audit", "Adjusted points by hand"),
    "loyalty.rules": QT_TRANSLATE_NOOP("audit", "Changed the points rules"),
    "tiers.save": QT_TRANSLATE_NOOP("audit", "Changed the tiers"),
    "tiers.review": QT_TRANSLATE_NOOP("audit", "Reviewed the members' tiers"),
    # Purchases
    "purchase.frozen_override": QT_TRANSLATE_NOOP("audit", "Sold to a frozen member, approved"),
    "purchase.refund": QT_TRANSLATE_NOOP("audit", "Refunded a purchase"),
    "purchase.import": QT_TRANSLATE_NOOP("audit", "Imported purchases"),
    # Stored value
    "wallet.topup": QT_TRANSLATE_NOOP("audit", "Topped up stored value"),
    "wallet.cashout": QT_TRANSLATE_NOOP("audit", "Paid out stored value"),
    "wallet.adjust": QT_TRANSLATE_NOOP("audit", "Corrected stored value by hand"),
    "wallet.pin_set": QT_TRANSLATE_NOOP("audit", "Set a payment PIN"),
    "wallet.pin_removed": QT_TRANSLATE_NOOP("audit", "Removed a payment PIN"),
    "wallet.pin_locked": QT_TRANSLATE_NOOP("audit", "Payment PIN locked after wrong tries"),
    "wallet.bonus_rule": QT_TRANSLATE_NOOP("audit", "Added a top-up bonus"),
    "wallet.bonus_rule_end": QT_TRANSLATE_NOOP("audit", "Ended a top-up bonus"),
    "money.settings": QT_TRANSLATE_NOOP("audit", "Changed the stored value and credit settings"),
    # Credit
    "credit.limit": QT_TRANSLATE_NOOP("audit", "Changed a credit limit"),
    "credit.freeze": QT_TRANSLATE_NOOP("audit", "Stopped a member's credit"),
    "credit.unfreeze": QT_TRANSLATE_NOOP("audit", "Allowed a member's credit again"),
    "credit.override": QT_TRANSLATE_NOOP("audit", "Allowed a charge beyond the credit limit"),
    "credit.repay": QT_TRANSLATE_NOOP("audit", "Recorded a repayment"),
    "credit.write_off": QT_TRANSLATE_NOOP("audit", "Wrote off a debt"),
    "credit.note": QT_TRANSLATE_NOOP("audit", "Added a collection note"),
    # Offers
    "offer.add": QT_TRANSLATE_NOOP("audit", "Created an offer"),
    "offer.update": QT_TRANSLATE_NOOP("audit", "Changed an offer"),
    "offer.activate": QT_TRANSLATE_NOOP("audit", "Switched an offer on"),
    "offer.deactivate": QT_TRANSLATE_NOOP("audit", "Switched an offer off"),
    "offer.coupons": QT_TRANSLATE_NOOP("audit", "Made coupons"),
    "offer.apply": QT_TRANSLATE_NOOP("audit", "Applied an offer"),
    # Complaints
    "complaint.log": QT_TRANSLATE_NOOP("audit", "Logged a complaint"),
    "complaint.attach": QT_TRANSLATE_NOOP("audit", "Attached a file to a complaint"),
    "complaint.assign": QT_TRANSLATE_NOOP("audit", "Assigned a complaint"),
    "complaint.priority": QT_TRANSLATE_NOOP("audit", "Changed a complaint's priority"),
    "complaint.start": QT_TRANSLATE_NOOP("audit", "Started work on a complaint"),
    "complaint.contact": QT_TRANSLATE_NOOP("audit", "Contacted the customer about a complaint"),
    "complaint.note": QT_TRANSLATE_NOOP("audit", "Added a note to a complaint"),
    "complaint.resolve": QT_TRANSLATE_NOOP("audit", "Resolved a complaint"),
    "complaint.follow_up": QT_TRANSLATE_NOOP("audit", "Followed up a complaint"),
    "complaint.close": QT_TRANSLATE_NOOP("audit", "Closed a complaint"),
    "complaint.reopen": QT_TRANSLATE_NOOP("audit", "Reopened a complaint"),
    "complaint.settings": QT_TRANSLATE_NOOP("audit", "Changed the complaint settings"),
    "complaint_channel.add": QT_TRANSLATE_NOOP("audit", "Added a complaint channel"),
    "complaint_channel.rename": QT_TRANSLATE_NOOP("audit", "Renamed a complaint channel"),
    "complaint_channel.on": QT_TRANSLATE_NOOP("audit", "Switched a complaint channel on"),
    "complaint_channel.off": QT_TRANSLATE_NOOP("audit", "Switched a complaint channel off"),
    "complaint_category.add": QT_TRANSLATE_NOOP("audit", "Added a complaint category"),
    "complaint_category.rename": QT_TRANSLATE_NOOP("audit", "Renamed a complaint category"),
    "complaint_category.update": QT_TRANSLATE_NOOP("audit", "Changed a complaint category"),
    "complaint_category.on": QT_TRANSLATE_NOOP("audit", "Switched a complaint category on"),
    "complaint_category.off": QT_TRANSLATE_NOOP("audit", "Switched a complaint category off"),
    # Surveys
    "survey.add": QT_TRANSLATE_NOOP("audit", "Recorded a satisfaction survey"),
    "survey.settings": QT_TRANSLATE_NOOP("audit", "Changed the survey alert"),
    "survey_dimension.add": QT_TRANSLATE_NOOP("audit", "Added a survey question"),
    "survey_dimension.rename": QT_TRANSLATE_NOOP("audit", "Renamed a survey question"),
    "survey_dimension.on": QT_TRANSLATE_NOOP("audit", "Switched a survey question on"),
    "survey_dimension.off": QT_TRANSLATE_NOOP("audit", "Switched a survey question off"),
    # Staff and the store
    "staff.add": QT_TRANSLATE_NOOP("audit", "Added a staff account"),
    "staff.enable": QT_TRANSLATE_NOOP("audit", "Enabled a staff account"),
    "staff.disable": QT_TRANSLATE_NOOP("audit", "Disabled a staff account"),
    "staff.reset_pin": QT_TRANSLATE_NOOP("audit", "Reset a staff PIN"),
    "staff.set_password": QT_TRANSLATE_NOOP("audit", "Set a staff password"),
    "staff.locked_out": QT_TRANSLATE_NOOP("audit", "Staff account locked after wrong tries"),
    "store.initialise": QT_TRANSLATE_NOOP("audit", "Set up the store"),
    "store.update": QT_TRANSLATE_NOOP("audit", "Changed the store's details"),
    # Printouts
    "report.full_phones": QT_TRANSLATE_NOOP("audit", "Printed full phone numbers"),
    "report.statement": QT_TRANSLATE_NOOP("audit", "Printed a member's statement"),
    # Data safety and privacy
    "backup.create": QT_TRANSLATE_NOOP("audit", "Backed up the database"),
    "backup.settings": QT_TRANSLATE_NOOP("audit", "Changed the backup settings"),
    "database.restore": QT_TRANSLATE_NOOP("audit", "Restored the database from a backup"),
    "database.repair": QT_TRANSLATE_NOOP("audit", "Repaired cached figures"),
    "privacy.retention": QT_TRANSLATE_NOOP("audit", "Anonymised members past the retention period"),
    "audit.export": QT_TRANSLATE_NOOP("audit", "Exported the audit log"),
    # Customer insight
    "insight.window": QT_TRANSLATE_NOOP("audit", "Changed the customer insight window"),
}

# Actions an owner checks first: personal data leaving the program (full phone numbers on paper,
# exports, a member's copy of their data), erasures, restores, and money or points changed by hand.
# (Credit has no hand correction: a debt only shrinks by a repayment, a refund or a write-off.)
SENSITIVE: frozenset[str] = frozenset({
    "report.full_phones",
    "member.export",
    "audit.export",
    "member.export_data",
    "member.erase",
    "privacy.retention",
    "credit.write_off",
    "database.restore",
    "points.adjust",
    "wallet.adjust",
})

# Printouts that record whether they showed full phone numbers (details "full_phones": true);
# with them they are as sensitive as "report.full_phones".
FULL_PHONE_PRINTOUTS: frozenset[str] = frozenset({"member.print_list", "report.statement"})

# Groups of actions by the first part of their name, for "any stored value action" and the like.
AREA_LABELS: dict[str, str] = {
    "member.": QT_TRANSLATE_NOOP("audit", "Members (all)"),
    "card.": QT_TRANSLATE_NOOP("audit", "Cards (all)"),
    "points.": QT_TRANSLATE_NOOP("audit", "Points (all)"),
    "purchase.": QT_TRANSLATE_NOOP("audit", "Purchases (all)"),
    "wallet.": QT_TRANSLATE_NOOP("audit", "Stored value (all)"),
    "credit.": QT_TRANSLATE_NOOP("audit", "Credit (all)"),
    "offer.": QT_TRANSLATE_NOOP("audit", "Offers (all)"),
    "complaint.": QT_TRANSLATE_NOOP("audit", "Complaints (all)"),
    "staff.": QT_TRANSLATE_NOOP("audit", "Staff accounts (all)"),
    "report.": QT_TRANSLATE_NOOP("audit", "Printouts (all)"),
}

# What the keys of an event's details mean (unknown keys show as they are).
DETAIL_LABELS: dict[str, str] = {
    "amount_fen": QT_TRANSLATE_NOOP("audit", "amount"),
    "principal_fen": QT_TRANSLATE_NOOP("audit", "principal"),
    "bonus_fen": QT_TRANSLATE_NOOP("audit", "bonus"),
    "bonus_forfeited_fen": QT_TRANSLATE_NOOP("audit", "bonus forfeited"),
    "refund_fen": QT_TRANSLATE_NOOP("audit", "refund"),
    "discount_fen": QT_TRANSLATE_NOOP("audit", "discount"),
    "closing_fen": QT_TRANSLATE_NOOP("audit", "closing balance"),
    "limit_fen": QT_TRANSLATE_NOOP("audit", "limit"),
    "old_limit_fen": QT_TRANSLATE_NOOP("audit", "previous limit"),
    "min_topup_fen": QT_TRANSLATE_NOOP("audit", "minimum top-up"),
    "term_days": QT_TRANSLATE_NOOP("audit", "term in days"),
    "old_term_days": QT_TRANSLATE_NOOP("audit", "previous term in days"),
    "points": QT_TRANSLATE_NOOP("audit", "points"),
    "goodwill_points": QT_TRANSLATE_NOOP("audit", "goodwill points"),
    "reason": QT_TRANSLATE_NOOP("audit", "reason"),
    "entry": QT_TRANSLATE_NOOP("audit", "ledger entry"),
    "payment_method": QT_TRANSLATE_NOOP("audit", "paid by"),
    "approved_by": QT_TRANSLATE_NOOP("audit", "approved by"),
    "file": QT_TRANSLATE_NOOP("audit", "file"),
    "file_name": QT_TRANSLATE_NOOP("audit", "file"),
    "rows": QT_TRANSLATE_NOOP("audit", "rows"),
    "criteria": QT_TRANSLATE_NOOP("audit", "filter"),
    "full_phones": QT_TRANSLATE_NOOP("audit", "full phone numbers"),
    "document": QT_TRANSLATE_NOOP("audit", "document"),
    "first": QT_TRANSLATE_NOOP("audit", "from"),
    "last": QT_TRANSLATE_NOOP("audit", "to"),
    "name": QT_TRANSLATE_NOOP("audit", "name"),
    "member_no": QT_TRANSLATE_NOOP("audit", "member no."),
    "number": QT_TRANSLATE_NOOP("audit", "card"),
    "fields": QT_TRANSLATE_NOOP("audit", "fields"),
    "old": QT_TRANSLATE_NOOP("audit", "was"),
    "new": QT_TRANSLATE_NOOP("audit", "new"),
    "changed": QT_TRANSLATE_NOOP("audit", "changed"),
    "merged": QT_TRANSLATE_NOOP("audit", "merged"),
    "kept": QT_TRANSLATE_NOOP("audit", "kept"),
    "moved": QT_TRANSLATE_NOOP("audit", "moved"),
    "role": QT_TRANSLATE_NOOP("audit", "role"),
    "owner": QT_TRANSLATE_NOOP("audit", "owner"),
    "count": QT_TRANSLATE_NOOP("audit", "count"),
    "coupon": QT_TRANSLATE_NOOP("audit", "coupon"),
    "purchase_id": QT_TRANSLATE_NOOP("audit", "purchase"),
    "original": QT_TRANSLATE_NOOP("audit", "original sale"),
    "category": QT_TRANSLATE_NOOP("audit", "category"),
    "channel": QT_TRANSLATE_NOOP("audit", "channel"),
    "department": QT_TRANSLATE_NOOP("audit", "department"),
    "remedies": QT_TRANSLATE_NOOP("audit", "remedies"),
    "satisfaction": QT_TRANSLATE_NOOP("audit", "satisfaction"),
    "method": QT_TRANSLATE_NOOP("audit", "method"),
    "note": QT_TRANSLATE_NOOP("audit", "note"),
    "backup": QT_TRANSLATE_NOOP("audit", "backup"),
    "safety_copy": QT_TRANSLATE_NOOP("audit", "safety copy"),
    "members": QT_TRANSLATE_NOOP("audit", "members"),
    "sales": QT_TRANSLATE_NOOP("audit", "sales"),
    "refunds": QT_TRANSLATE_NOOP("audit", "refunds"),
    "skipped": QT_TRANSLATE_NOOP("audit", "skipped"),
    "unchanged": QT_TRANSLATE_NOOP("audit", "unchanged"),
    "updated": QT_TRANSLATE_NOOP("audit", "updated"),
    "kind": QT_TRANSLATE_NOOP("audit", "kind"),
    "files": QT_TRANSLATE_NOOP("audit", "files"),
    "sections": QT_TRANSLATE_NOOP("audit", "contents"),
    "via": QT_TRANSLATE_NOOP("audit", "how"),
    "given": QT_TRANSLATE_NOOP("audit", "given"),
    "erased": QT_TRANSLATE_NOOP("audit", "erased"),
    "retention_years": QT_TRANSLATE_NOOP("audit", "kept for years"),
    "today": QT_TRANSLATE_NOOP("audit", "day"),
    "attachments": QT_TRANSLATE_NOOP("audit", "attachments"),
    "size": QT_TRANSLATE_NOOP("audit", "size in bytes"),
    "staff_id": QT_TRANSLATE_NOOP("audit", "staff no."),
    "customer_told": QT_TRANSLATE_NOOP("audit", "customer told"),
    "skipped_follow_up": QT_TRANSLATE_NOOP("audit", "without follow-up"),
    "scores": QT_TRANSLATE_NOOP("audit", "scores"),
    "first_response_hours": QT_TRANSLATE_NOOP("audit", "first response in hours"),
    "drop_alert_centi": QT_TRANSLATE_NOOP("audit", "alert on a drop of (hundredths)"),
    "batch": QT_TRANSLATE_NOOP("audit", "batch"),
    "tier_id": QT_TRANSLATE_NOOP("audit", "tier"),
    "starts_on": QT_TRANSLATE_NOOP("audit", "starts"),
    "ends_on": QT_TRANSLATE_NOOP("audit", "ends"),
    "tiers": QT_TRANSLATE_NOOP("audit", "tiers"),
    "deleted": QT_TRANSLATE_NOOP("audit", "deleted"),
    "members_moved": QT_TRANSLATE_NOOP("audit", "members moved"),
    "up": QT_TRANSLATE_NOOP("audit", "up"),
    "down": QT_TRANSLATE_NOOP("audit", "down"),
    "prepaid_rules": QT_TRANSLATE_NOOP("audit", "prepaid card rules"),
    "wallet_cap_fen": QT_TRANSLATE_NOOP("audit", "highest balance"),
    "draw_order": QT_TRANSLATE_NOOP("audit", "spent first"),
    "pin_above_fen": QT_TRANSLATE_NOOP("audit", "PIN above"),
    "credit_freeze_after_days": QT_TRANSLATE_NOOP("audit", "stop credit after days overdue"),
    "credit_max_limit_fen": QT_TRANSLATE_NOOP("audit", "highest suggested limit"),
    "wallet_principal_fen": QT_TRANSLATE_NOOP("audit", "opening principal"),
    "wallet_bonus_fen": QT_TRANSLATE_NOOP("audit", "opening bonus"),
    "wallets": QT_TRANSLATE_NOOP("audit", "opening balances"),
    "debt_fen": QT_TRANSLATE_NOOP("audit", "opening debt"),
    "debts": QT_TRANSLATE_NOOP("audit", "opening debts"),
    "import": QT_TRANSLATE_NOOP("audit", "import"),
    "keep_daily": QT_TRANSLATE_NOOP("audit", "daily copies"),
    "keep_weekly": QT_TRANSLATE_NOOP("audit", "weekly copies"),
    "keep_monthly": QT_TRANSLATE_NOOP("audit", "monthly copies"),
    "second_place": QT_TRANSLATE_NOOP("audit", "second place"),
}

# Details naming the member an event concerns when its entity is something else (a complaint, an offer...).
MEMBER_DETAIL_KEYS = ("member_id", "member")

# --------------------------------------------------------------------------- coded values in the details

ANY_ACTION = ""  # the action of a value_words row for a detail key that means the same in every action

# The printouts recorded with "report.full_phones" (its "document").
DOCUMENT_LABELS: dict[str, str] = {
    "member_report": QT_TRANSLATE_NOOP("reports", "Member report"),
}

# A list the shop edits whose rows the details name by code.
ShopList = type[ComplaintCategory] | type[ComplaintChannel]


@dataclass(frozen=True)
class Labels:
    """The values are codes: ``labels`` gives each code's English label, translated in ``context``."""

    context: str
    labels: Mapping[str, str]


@dataclass(frozen=True)
class Names:
    """The values are names from a list the shop edits, whose default names are stored in English and translated in
    ``context`` (the shop's own names read as typed). With ``shop_list`` the values are codes of that list's rows and
    read as the rows' names, which the caller looks up for a page of events at once (``stored_codes``)."""

    context: str
    shop_list: ShopList | None = None


@dataclass(frozen=True)
class ProgramReasons:
    """A reason the program wrote itself (``loyalty.reason_parts``) reads in the reader's language, "ledger" context;
    a reason a person typed reads as typed."""


ValueWords = Labels | Names | ProgramReasons


def _by_value(labels: Mapping[Any, str]) -> dict[str, str]:
    """A label map keyed by an enum, keyed instead by the codes the details hold (the enum's values)."""
    return {member.value if isinstance(member, enum.Enum) else member: label for member, label in labels.items()}


@functools.cache
def value_words() -> dict[tuple[str, str], ValueWords]:
    """Which words a coded detail value reads as: (action, detail key) -> the label map (or list) for its values, with
    that map's translation context; (ANY_ACTION, key) for a key that means the same in every action. A key inside a
    detail (a filter's "statuses", a field in "changed") has its row as if it stood on its own. A code the map does not
    know (from an older version, an import, a shop's own word) reads as it is.

    Built on first use: the services holding the labels record their own events through audit."""
    from crmdesk.services import backups, complaints, member_query, members, offers, payments, wallet

    member_status = Labels("terms", _by_value(member_query.STATUS_LABELS))
    member_fields = Labels("history", members.HISTORY_LABELS)
    offer_kind = Labels("offers", _by_value(offers.KIND_LABELS))
    priority = Labels("complaints", _by_value(complaints.PRIORITY_LABELS))
    return {
        (ANY_ACTION, "payment_method"): Labels("terms", {**payments.PAYMENT_METHODS, **payments.ACCOUNT_METHODS}),
        (ANY_ACTION, "statuses"): member_status,  # a member filter's (exported, printed or saved as a group)
        (ANY_ACTION, "draw_order"): Labels("terms", _by_value(wallet.DRAW_LABELS)),
        (ANY_ACTION, "default_priority"): priority,  # a complaint category's, added or changed
        (ANY_ACTION, "remedies"): Labels("complaints", _by_value(complaints.REMEDY_LABELS)),
        ("member.status", "old"): member_status,
        ("member.status", "new"): member_status,
        ("member.update", "fields"): member_fields,
        ("member.erase", "fields"): member_fields,
        ("member.consent", "kind"): Labels("history", {"data": members.HISTORY_LABELS["data_consent"]}),
        ("offer.add", "kind"): offer_kind,
        ("offer.update", "kind"): offer_kind,
        ("complaint.log", "category"): Names("complaints", ComplaintCategory),
        ("complaint.log", "channel"): Names("complaints", ComplaintChannel),
        ("complaint.priority", "changed"): priority,
        ("complaint.follow_up", "method"): Labels("complaints", _by_value(complaints.METHOD_LABELS)),
        ("complaint_category.rename", "changed"): Names("complaints"),
        ("complaint_channel.rename", "changed"): Names("complaints"),
        ("survey_dimension.rename", "changed"): Names("surveys"),
        ("credit.freeze", "reason"): ProgramReasons(),  # "overdue 40 days" when credit stopped by itself
        ("backup.create", "reason"): Labels("terms", backups.REASONS),
        ("report.full_phones", "document"): Labels("reports", DOCUMENT_LABELS),
        ("audit.export", "action"): Labels("audit", {**ACTION_LABELS, **AREA_LABELS}),  # the exported filter's
    }


def _words_for(action: str, key: str) -> ValueWords | None:
    table = value_words()
    return table.get((action, key)) or table.get((ANY_ACTION, key))


def stored_codes(action: str, details: Mapping[str, Any]) -> dict[ShopList, set[str]]:
    """The codes of the shop's list entries these details name (complaint categories, channels), by list: what
    ``summary`` needs in its ``names``."""
    wanted: dict[ShopList, set[str]] = {}
    for key, value in details.items():
        words = _words_for(action, key)
        if isinstance(words, Names) and words.shop_list is not None:
            codes = value if isinstance(value, list) else [value]
            wanted.setdefault(words.shop_list, set()).update(code for code in codes if isinstance(code, str) and code)
    return wanted


def _coded_text(words: ValueWords, code: str, translate: Translate, names: Mapping[tuple[ShopList, str], str]) -> str:
    if isinstance(words, Labels):
        label = words.labels.get(code)
        return translate(words.context, label) if label is not None else code
    if isinstance(words, Names):
        name = code if words.shop_list is None else names.get((words.shop_list, code))
        return translate(words.context, name) if name else code
    from crmdesk.services.loyalty import reason_parts  # loyalty uses audit.record: imported when needed

    parts = reason_parts(code)
    if parts is None:
        return code
    template, values = parts
    return translate("ledger", template).format(**values)

_PART = QT_TRANSLATE_NOOP("audit", "{label}: {value}")
_SEPARATOR = QT_TRANSLATE_NOOP("audit", "; ")
_YES = QT_TRANSLATE_NOOP("audit", "yes")
_NO = QT_TRANSLATE_NOOP("audit", "no")


def action_label(action: str, translate: Translate = english) -> str:
    """What the action means, in the reader's language; an unknown action is shown by its name."""
    label = ACTION_LABELS.get(action)
    return translate("audit", label) if label is not None else action


def is_sensitive(action: str, details: Mapping[str, Any] | None = None) -> bool:
    if action in SENSITIVE:
        return True
    return action in FULL_PHONE_PRINTOUTS and bool((details or {}).get("full_phones"))


def member_reference(details: Mapping[str, Any]) -> int | None:
    """The member a detail names (an offer applied for, a complaint logged by), if any."""
    for key in MEMBER_DETAIL_KEYS:
        value = details.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _money(fen: int) -> str:
    from crmdesk.services.member_query import money_text  # member_query uses audit.record: imported when needed

    return money_text(fen)


def _value_text(key: str, value: Any, translate: Translate, coded: Callable[[str, str], str], *,
                change: bool = False) -> str:
    """One detail's value as text; ``coded(key, code)`` gives a text value's words. With ``change`` a pair reads
    "was → now"."""
    if change and isinstance(value, list) and len(value) == 2:
        return " → ".join(_value_text(key, item, translate, coded) for item in value)
    if isinstance(value, bool):
        return translate("audit", _YES if value else _NO)
    if key.endswith("_fen") and isinstance(value, int):
        return _money(value)
    if isinstance(value, dict):  # "changed" holds {field: [was, now]}; a filter {criterion: value}
        return ", ".join(f"{inner}={_value_text(str(inner), item, translate, coded, change=key == 'changed')}"
                         for inner, item in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_value_text(key, item, translate, coded) for item in value)
    if isinstance(value, str):
        return coded(key, value)
    return str(value)


def summary(details: Mapping[str, Any], translate: Translate = english, *, skip: tuple[str, ...] = (), action: str = "",
            names: Mapping[tuple[ShopList, str], str] | None = None) -> str:
    """The details as one line a person reads: "amount: ¥100.00; reason: 顾客投诉". Empty values are left out.

    Coded values read through ``value_words`` (the rows for ``action`` first); ``names`` holds the names of the
    shop's list entries they name by code, (list, code) -> name (see ``stored_codes``): without it they read as codes."""
    known = names or {}

    def coded(key: str, code: str) -> str:
        words = _words_for(action, key)
        return code if words is None else _coded_text(words, code, translate, known)

    parts = []
    for key, value in details.items():
        if key in skip or value is None or value == "" or value == [] or value == {}:
            continue
        label = translate("audit", DETAIL_LABELS[key]) if key in DETAIL_LABELS else key
        text = _value_text(key, value, translate, coded, change=key == "changed")
        parts.append(translate("audit", _PART).format(label=label, value=text))
    return translate("audit", _SEPARATOR).join(parts)
