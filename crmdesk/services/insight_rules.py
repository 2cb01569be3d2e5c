"""The rules behind customer insight, written down once: RFM scores and segments, ABC classes, lifecycle
stages and churn alerts. ``services.insight`` applies them in SQL to every member at once; the labels here
are English source texts that the views translate (context "insight").

RFM (over the owner's window, 12 months by default; days are the shop's calendar days):
  R  recency    days from the member's last shopping day to the refresh's day (all time; fewer is better)
  F  frequency  distinct shopping days within the window
  M  monetary   spend within the window, refunds taken off
Scores 1-5 by quintile among the members who ever bought: with the n values sorted ascending and
c_k the value at position ceil(k*n/5) (k = 1..4), a value scores 1 + (how many c_k it is above) for F and M,
and 5 - (how many c_k it is above) for R. Equal values always get equal scores: a tie at a quintile edge
takes the lower quintile (for R, the less recent one), so quintiles can hold more or fewer than a fifth.
A score is "high" at 3 or more (the middle quintile and above).

Segments (R, F, M high or low):
  R F M  all high           champions  重要价值: the shop's best, keep them pleased
  R low,  F high, M high    recall     重要唤回: frequent big spenders who have not come lately
  R high, F low,  M high    develop    重要深耕: recent big spenders who come seldom
  R low,  F low,  M high    retain     重要挽留: big spenders slipping away
  R high, F high, M low     potential  潜力: regulars who spend little
  R high, F low,  M low     newcomer   新客: recent, little so far
  R low,  F high, M low     maintain   一般维持: used to come often, spent little
  all low                   churned    流失

ABC (80/20): members who spent in the window, highest spend first (member id breaks ties); a member whose
predecessors together spent less than 80 % of the window's spend is A, less than 95 % B, else C. So A is the
fewest members that together make at least 80 % of the spend.

Lifecycle stage, from each member's own rhythm: g = typical gap = (last day - first day) / (shopping days - 1);
for a member with one shopping day, the shop's median g. With r = recency in days:
  new        first shopping day within the last 30 days
  won back   active now (below) after a gap before the last visit longer than that of "lapsed" for the
             rhythm they had before it
  active     r <= max(2g, 3)
  cooling    r <= max(4g, 7)
  at risk    r <= max(8g, 30)
  lapsed     r <= min(max(16g, 90), 365)
  lost       beyond that
A member who comes daily and has been away 10 days is at risk; one who comes monthly is active.

Churn alerts (outliers against the member's own history), for members not yet lost:
  gap    at least 5 shopping days, and the days since the last visit are more than the mean gap plus three
         standard deviations of the member's gaps, and at least twice the mean gap and at least 7 days
         ("usually every 4 days; 19 days now")
  spend  still coming (last visit within 30 days), shopping for 7 months or more, the 6 months before the
         last 30 days averaged ¥100 a month or more, and the last 30 days brought less than a third of that
         ("monthly spend fell from ¥600 to ¥80")

BG/NBD and Gamma-Gamma (services.clv_model), time in days: x = shopping days - 1, t_x = last - first day,
T = refresh day - first day; spend per shopping day for Gamma-Gamma. They are fitted only with at least
MIN_RETURNING members who came back and MIN_HISTORY_DAYS of history; otherwise the app says the model is
not yet reliable.
"""

from __future__ import annotations

from crmdesk.texts import QT_TRANSLATE_NOOP

HIGH_SCORE = 3
NEW_DAYS = 30
ALERT_MIN_DAYS = 5
ALERT_SIGMAS = 3
SPEND_ALERT_MONTHS = 6
SPEND_ALERT_MIN_MONTHLY_FEN = 10_000
SPEND_ALERT_FALL = 3  # the last 30 days below a third of the usual month
MIN_RETURNING = 200
MIN_HISTORY_DAYS = 90
HORIZON_DAYS = 365  # expected purchases and value: the next 12 months
DEFAULT_GAP_DAYS = 30.0  # the rhythm assumed when nobody has come twice yet

# (R high, F high, M high) -> segment
SEGMENT_OF = {
    (True, True, True): "champions",
    (False, True, True): "recall",
    (True, False, True): "develop",
    (False, False, True): "retain",
    (True, True, False): "potential",
    (True, False, False): "newcomer",
    (False, True, False): "maintain",
    (False, False, False): "churned",
}
SEGMENTS = tuple(SEGMENT_OF.values())
SEGMENT_LABELS = {
    "champions": QT_TRANSLATE_NOOP("insight", "Top value"),
    "recall": QT_TRANSLATE_NOOP("insight", "Recall (high value)"),
    "develop": QT_TRANSLATE_NOOP("insight", "Develop (high value)"),
    "retain": QT_TRANSLATE_NOOP("insight", "Retain (high value)"),
    "potential": QT_TRANSLATE_NOOP("insight", "Potential"),
    "newcomer": QT_TRANSLATE_NOOP("insight", "Newcomer"),
    "maintain": QT_TRANSLATE_NOOP("insight", "Maintain"),
    "churned": QT_TRANSLATE_NOOP("insight", "Churned"),
}
SEGMENT_RULES = {
    "champions": QT_TRANSLATE_NOOP("insight", "Recent, frequent and high spend: the shop's best; keep them pleased."),
    "recall": QT_TRANSLATE_NOOP("insight", "Frequent and high spend but not lately: call them back."),
    "develop": QT_TRANSLATE_NOOP("insight", "Recent and high spend but seldom: bring them more often."),
    "retain": QT_TRANSLATE_NOOP("insight", "High spend, seldom and not lately: slipping away; act now."),
    "potential": QT_TRANSLATE_NOOP("insight", "Recent and frequent but low spend: grow the basket."),
    "newcomer": QT_TRANSLATE_NOOP("insight", "Recent, seldom and low spend so far."),
    "maintain": QT_TRANSLATE_NOOP("insight", "Frequent but low spend and not lately."),
    "churned": QT_TRANSLATE_NOOP("insight", "Low on recency, frequency and spend."),
}

ABC_CLASSES = ("A", "B", "C")
ABC_SHARES = (80, 95)  # cumulative spend share (%) that ends A and B
ABC_LABELS = {
    "A": QT_TRANSLATE_NOOP("insight", "A: the core (80% of spend)"),
    "B": QT_TRANSLATE_NOOP("insight", "B: the next 15%"),
    "C": QT_TRANSLATE_NOOP("insight", "C: the last 5%"),
}

STAGES = ("new", "active", "won_back", "cooling", "at_risk", "lapsed", "lost")
STAGE_LABELS = {
    "new": QT_TRANSLATE_NOOP("insight", "New"),
    "active": QT_TRANSLATE_NOOP("insight", "Active"),
    "won_back": QT_TRANSLATE_NOOP("insight", "Won back"),
    "cooling": QT_TRANSLATE_NOOP("insight", "Cooling"),
    "at_risk": QT_TRANSLATE_NOOP("insight", "At risk"),
    "lapsed": QT_TRANSLATE_NOOP("insight", "Lapsed"),
    "lost": QT_TRANSLATE_NOOP("insight", "Lost"),
}
# Stage thresholds: (multiple of the member's gap, at least this many days); "lapsed" is also capped at a year.
STAGE_LIMITS = (("active", 2, 3), ("cooling", 4, 7), ("at_risk", 8, 30), ("lapsed", 16, 90))
LOST_AFTER_DAYS = 365
DRIFTING_STAGES = ("cooling", "at_risk", "lapsed")

ALERTS = ("gap", "spend")
ALERT_LABELS = {
    "gap": QT_TRANSLATE_NOOP("insight", "Away far longer than usual"),
    "spend": QT_TRANSLATE_NOOP("insight", "Spending far less than usual"),
}
ALERT_REASONS = {
    "gap": QT_TRANSLATE_NOOP("insight", "usually every {usual} days; {now} days now"),
    "spend": QT_TRANSLATE_NOOP("insight", "monthly spend fell from {usual} to {now}"),
}

MODEL_NOTES = {
    "few_members": QT_TRANSLATE_NOOP(
        "insight", "Not yet reliable: the model needs at least {count} members who came back more than once."),
    "short_history": QT_TRANSLATE_NOOP("insight", "Not yet reliable: the model needs at least {days} days of purchases."),
    "no_fit": QT_TRANSLATE_NOOP("insight", "Not reliable: the model could not be fitted to this shop's history."),
}


def segment_for(r_score: int, f_score: int, m_score: int) -> str:
    """The segment of one member's scores (the same rule the refresh applies in SQL)."""
    return SEGMENT_OF[(r_score >= HIGH_SCORE, f_score >= HIGH_SCORE, m_score >= HIGH_SCORE)]
