"""All models, imported here so the metadata is complete wherever it is used."""

from crmdesk.models.audit import AuditEvent, DoneRequest
from crmdesk.models.base import Base, utcnow
from crmdesk.models.complaint import (
    Complaint, ComplaintAttachment, ComplaintCategory, ComplaintChannel, ComplaintEvent, ComplaintFollowUp, ComplaintResolution,
    ComplaintSettings, ComplaintStatus, FollowUpMethod, Priority, Remedy,
)
from crmdesk.models.insight import (
    INSIGHT_SETTINGS_ROW_ID, InsightCount, InsightRun, InsightSettings, MemberInsight, ShopDay,
)
from crmdesk.models.loyalty import RULES_STAMP_ROW_ID, CategoryRule, ExpiryMode, LoyaltyRules, PointsEntry, PointsKind, RulesStamp, Tier
from crmdesk.models.member import (
    Card, CardStatus, Gender, MarketingConsent, Member, MemberChange, MemberStatus, MemberTag, SavedFilter,
)
from crmdesk.models.money import (
    MONEY_SETTINGS_ROW_ID, CollectionNote, CreditAccount, CreditEntry, CreditKind, CreditSettlement, DrawOrder, MoneySettings,
    WalletBonusRule, WalletEntry, WalletKind,
)
from crmdesk.models.offer import Coupon, Offer, OfferKind, OfferRedemption, OfferTarget
from crmdesk.models.safety import SAFETY_SETTINGS_ROW_ID, DataSafetySettings
from crmdesk.models.purchase import Purchase, PurchaseKind, PurchaseLine
from crmdesk.models.staff import Role, Staff
from crmdesk.models.store import STORE_ROW_ID, StoreSettings
from crmdesk.models.survey import SurveyDimension, SurveyResponse, SurveyScore, SurveySettings

__all__ = [
    "DoneRequest",
    "AuditEvent", "Base", "CategoryRule", "ExpiryMode", "LoyaltyRules", "Card", "CardStatus", "Complaint", "ComplaintEvent", "ComplaintStatus",
    "Coupon", "Gender", "MarketingConsent", "Member", "MemberChange", "MemberStatus", "MemberTag", "SavedFilter", "Offer", "OfferKind", "OfferRedemption", "OfferTarget", "PointsEntry",
    "PointsKind", "Priority", "Purchase", "PurchaseKind", "PurchaseLine", "Role", "RULES_STAMP_ROW_ID", "RulesStamp", "STORE_ROW_ID",
    "Staff", "StoreSettings", "Tier", "utcnow",
    # complaints and surveys
    "ComplaintAttachment", "ComplaintCategory", "ComplaintChannel", "ComplaintFollowUp", "ComplaintResolution",
    "ComplaintSettings", "FollowUpMethod", "Remedy", "SurveyDimension", "SurveyResponse", "SurveyScore", "SurveySettings",
    # stored value and credit
    "MONEY_SETTINGS_ROW_ID", "CollectionNote", "CreditAccount", "CreditEntry", "CreditKind", "CreditSettlement", "DrawOrder",
    "MoneySettings", "WalletBonusRule", "WalletEntry", "WalletKind",
    # data safety
    "DataSafetySettings", "SAFETY_SETTINGS_ROW_ID",
    # customer insight
    "INSIGHT_SETTINGS_ROW_ID", "InsightCount", "InsightRun", "InsightSettings", "MemberInsight", "ShopDay",
]
