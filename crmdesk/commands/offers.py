"""`crmdesk offer add|list|coupons|check|points|apply|deactivate`: offers from the command line."""

from __future__ import annotations

import argparse
from datetime import date
from decimal import Decimal, InvalidOperation

from crmdesk.commands.common import acting_staff, member_id_for, print_json
from crmdesk.db import Database
from crmdesk.errors import InvalidInput
from crmdesk.models.offer import OfferKind, OfferTarget
from crmdesk.services import offers
from crmdesk.services.member_query import format_yuan, get_filter, tier_by_name
from crmdesk.services.purchases import parse_yuan
from crmdesk.services.uow import read_session, unit_of_work
from crmdesk.texts import QT_TRANSLATE_NOOP

WEEKDAYS = offers.WEEKDAY_ABBREVIATIONS


def register(add_command) -> None:  # type: ignore[no-untyped-def]
    offer = add_command("offer", "offers: define, list, coupons, check and apply at the counter", None)
    actions = offer.add_subparsers(dest="offer_command", metavar="ACTION", required=True)

    add = add_command("add", "define an offer", run_add, actions)
    add.add_argument("--name", required=True, help="what the counter and the customer read, e.g. 满100减10")
    add.add_argument("--kind", required=True, choices=[k.value for k in OfferKind],
                     help="amount_off (满减), percent_off, gift, birthday, buy_x_get_y, points_x (extra points days)")
    add.add_argument("--description", default="", help="a longer explanation for staff (optional)")
    add.add_argument("--threshold", metavar="YUAN", help="amount_off: spend needed; others: minimum basket")
    add.add_argument("--off", metavar="YUAN",
                     help="amount_off: amount taken off (with --points-cost leave it out: the points rules' rate sets it)")
    add.add_argument("--each", action="store_true", help="amount_off: per full threshold (每满减), not once")
    add.add_argument("--percent", metavar="PCT", help="percent_off / birthday: discount in percent, e.g. 5 or 12.5")
    add.add_argument("--gift", default="", help="gift / birthday: the gift")
    add.add_argument("--buy", type=int, default=0, metavar="X", help="buy_x_get_y: items to buy")
    add.add_argument("--get", type=int, default=0, metavar="Y", help="buy_x_get_y: items given free with them")
    add.add_argument("--item", default="", metavar="CODE", help="buy_x_get_y: item code")
    add.add_argument("--category", default="", help="buy_x_get_y: product category")
    add.add_argument("--multiplier", type=int, default=0, metavar="PCT", help="points_x: 200 = double points")
    add.add_argument("--weekday", action="append", default=[], metavar="DAY", help="points_x: mon..sun or 0..6 (repeat)")
    add.add_argument("--points-cost", type=int, default=0, metavar="N", help="points the member spends to use it")
    add.add_argument("--coupon", action="store_true", help="needs a single-use coupon code")
    add.add_argument("--from", dest="starts_on", type=date.fromisoformat, metavar="YYYY-MM-DD",
                     help="first day it can be used (default: at once)")
    add.add_argument("--to", dest="ends_on", type=date.fromisoformat, metavar="YYYY-MM-DD",
                     help="last day it can be used (default: no end)")
    add.add_argument("--tier", action="append", default=[], metavar="NAME", help="only these tiers (repeat; with --tag or --group too)")
    add.add_argument("--tag", action="append", default=[], metavar="TAG", help="only members with any of these tags (repeat)")
    add.add_argument("--group", metavar="NAME", help="only the members of this saved group")
    add.add_argument("--per-member", type=int, metavar="N", help="uses allowed to each member (default: no limit)")
    add.add_argument("--total", type=int, metavar="N", help="uses allowed in all (default: no limit)")
    add.add_argument("--json", action="store_true", help="print the offer as JSON")

    listing = add_command("list", "every offer with its window, target, limits and use", run_list, actions)
    listing.add_argument("--active", action="store_true", help="only offers switched on")
    listing.add_argument("--json", action="store_true", help="print the list as JSON")

    coupons = add_command("coupons", "make single-use coupon codes for an offer", run_coupons, actions)
    coupons.add_argument("offer", metavar="OFFER", help="offer id or name")
    coupons.add_argument("--count", type=int, required=True, help="how many codes to make")
    coupons.add_argument("--member", metavar="KEY", help="bind the coupons to this member")
    coupons.add_argument("--batch", default="", help="a label for the batch (default: date and time)")
    coupons.add_argument("--json", action="store_true", help="print the codes as JSON")

    check = add_command("check", "the offers the counter would list for a member", run_check, actions)
    check.add_argument("member", metavar="KEY", help="card number, member number or phone")
    check.add_argument("--basket", metavar="YUAN", help="the basket so far: shows each discount and checks minimums")
    check.add_argument("--today", type=date.fromisoformat, metavar="YYYY-MM-DD", help="check as on this day (default: today)")
    check.add_argument("--json", action="store_true", help="print the offers as JSON")

    points = add_command("points", "what a member's points can buy besides money off (the counter's F7 hints)", run_points,
                         actions)
    points.add_argument("member", metavar="KEY", help="card number, member number or phone")
    points.add_argument("--basket", metavar="YUAN", help="the basket so far: checks the offers' minimums")
    points.add_argument("--today", type=date.fromisoformat, metavar="YYYY-MM-DD", help="check as on this day (default: today)")
    points.add_argument("--json", action="store_true", help="print the offers as JSON")

    use = add_command("apply", "use an offer for a member", run_apply, actions)
    use.add_argument("offer", metavar="OFFER", help="offer id or name")
    use.add_argument("member", metavar="KEY", help="card number, member number or phone")
    use.add_argument("--coupon", metavar="CODE", help="the coupon code, for an offer that needs one")
    use.add_argument("--basket", metavar="YUAN", help="the basket the offer is used on")
    use.add_argument("--item-price", metavar="YUAN", help="buy_x_get_y: price of one free item")
    use.add_argument("--json", action="store_true", help="print what was applied as JSON")

    off = add_command("deactivate", "switch an offer off", run_deactivate, actions)
    off.add_argument("offer", metavar="OFFER", help="offer id or name")


def _fen(text: str | None) -> int | None:
    return parse_yuan(text) if text else None


def _basis_points(text: str | None) -> int:
    if not text:
        return 0
    try:
        value = Decimal(text.strip().rstrip("%"))
        exact = value.is_finite() and value == value.quantize(Decimal("0.01"))
    except InvalidOperation:
        exact = False
    if not exact:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "'{text}' is not a percentage (e.g. 5 or 12.5)."), field="percent", text=text)
    return int(value * 100)


def _weekday(text: str) -> int:
    key = text.strip().lower()[:3]
    if key in WEEKDAYS:
        return WEEKDAYS.index(key)
    if key.isdigit() and 0 <= int(key) <= 6:
        return int(key)
    raise InvalidInput(QT_TRANSLATE_NOOP("errors", "'{text}' is not a weekday (mon..sun or 0..6)."), field="weekdays", text=text)


def run_add(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    if args.tag and args.group:
        raise InvalidInput(QT_TRANSLATE_NOOP("errors", "Aim the offer at tags or at a group: only one of them."), field="target")
    with unit_of_work(db) as session:
        tier_ids = tuple(tier_by_name(session, name).id for name in args.tier)
        group_id = get_filter(session, args.group).id if args.group else None
        # Tags or a group say who; tiers narrow any of them (alone: everyone in those tiers).
        target = (OfferTarget.TAGS if args.tag else OfferTarget.GROUP if args.group else OfferTarget.TIERS if args.tier
                  else OfferTarget.EVERYONE)
        data = offers.OfferInput(
            name=args.name, kind=OfferKind(args.kind), description=args.description, starts_on=args.starts_on,
            ends_on=args.ends_on, target=target, tier_ids=tier_ids, tags=tuple(args.tag), group_id=group_id,
            per_member_limit=args.per_member, total_limit=args.total, coupon_required=args.coupon,
            threshold_fen=_fen(args.threshold) or 0, reduction_fen=_fen(args.off) or 0, repeat_threshold=args.each,
            percent_bp=_basis_points(args.percent), gift=args.gift, buy_qty=args.buy, get_qty=args.get, item_code=args.item,
            item_category=args.category, multiplier_pct=args.multiplier, weekdays=tuple(_weekday(d) for d in args.weekday),
            points_cost=args.points_cost,
        )
        info = offers.create_offer(session, actor, data)
    if args.json:
        print_json(info.to_json())
    else:
        print(f"Offer {info.id} added: {info.name}")
    return 0


def describe(info: offers.OfferInfo) -> str:
    """One line about what an offer gives, in English (the CLI's language)."""
    text = offers.plain_summary(info)
    if info.paid_with_points:
        text += " (at the points rules' rate)"
    return text


def _target(info: offers.OfferInfo) -> str:
    parts = []
    if info.target is OfferTarget.TAGS:
        parts.append("tags " + ", ".join(info.tags))
    elif info.target is OfferTarget.GROUP:
        parts.append(f"group {info.group_name or '-'}")
    if info.tier_ids or info.target is OfferTarget.TIERS:
        parts.append("tiers " + (", ".join(info.tier_names) or "none"))
    return "; ".join(parts) or "everyone"


def run_list(db: Database, args: argparse.Namespace) -> int:
    with read_session(db) as session:
        listed = offers.list_offers(session, include_inactive=not args.active)
    if args.json:
        print_json({"offers": [info.to_json() for info in listed]})
        return 0
    for info in listed:
        window = f"{info.starts_on or '…'} – {info.ends_on or '…'}"
        limits = f"per member {info.per_member_limit or 'no limit'}, total {info.total_limit or 'no limit'}"
        state = "" if info.active else " [off]"
        print(f"{info.id:>4}  {info.name}{state}\n      {describe(info)}; {window}; {_target(info)}; {limits}; used {info.used}")
    if not listed:
        print("No offers.")
    return 0


def _offer_id(db: Database, key: str) -> int:
    with read_session(db) as session:
        return offers.find_offer(session, key).id


def run_coupons(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    offer_id = _offer_id(db, args.offer)
    member_id = member_id_for(db, args.member) if args.member else None
    with unit_of_work(db) as session:
        codes = offers.generate_coupons(session, actor, offer_id, args.count, member_id, batch=args.batch)
    if args.json:
        print_json({"offer_id": offer_id, "member_id": member_id, "codes": [offers.display_code(c) for c in codes]})
    else:
        for code in codes:
            print(offers.display_code(code))
    return 0


def run_check(db: Database, args: argparse.Namespace) -> int:
    member_id = member_id_for(db, args.member)
    with read_session(db) as session:
        statuses = offers.eligibility(session, member_id, today=args.today, basket_fen=_fen(args.basket))
    if args.json:
        print_json({"member_id": member_id, "offers": [s.to_json() for s in statuses]})
        return 0
    for s in statuses:
        mark = "✔" if s.usable else "✘"
        extra = []
        if s.usable and s.discount_fen:
            extra.append(f"¥{format_yuan(s.discount_fen)} off")
        if s.usable and s.automatic:
            extra.append("applies by itself")
        if s.usable and s.needs_coupon:
            extra.append("coupon needed" + (f": {', '.join(offers.display_code(c) for c in s.coupon_codes)}" if s.coupon_codes else ""))
        tail = s.reason_text if not s.usable else "; ".join(extra)
        print(f"{mark} {s.offer.id:>4}  {s.offer.name}  {('— ' + tail) if tail else ''}".rstrip())
    if not statuses:
        print("No active offers.")
    return 0


def run_points(db: Database, args: argparse.Namespace) -> int:
    member_id = member_id_for(db, args.member)
    with read_session(db) as session:
        hints = offers.points_offers_for(session, member_id, args.today, basket_fen=_fen(args.basket))
    if args.json:
        print_json({"member_id": member_id, "offers": [{
            "offer_id": h.offer_id, "name": h.name, "kind": h.kind.value, "summary": h.summary, "points_cost": h.points_cost,
            "worth_fen": h.worth_fen, "gives_fen": h.gives_fen, "usable": h.usable,
            "reason": h.reason.name.lower() if h.reason else None, "reason_text": h.reason_text,
        } for h in hints]})
        return 0
    for h in hints:
        mark = "✔" if h.usable else "✘"
        tail = f" — {h.reason_text}" if not h.usable else ""
        print(f"{mark} {h.offer_id:>4}  {h.name}: {h.summary} (the points are worth ¥{format_yuan(h.worth_fen)}){tail}")
    if not hints:
        print("No offers to spend points on.")
    return 0


def run_apply(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    offer_id = _offer_id(db, args.offer)
    member_id = member_id_for(db, args.member)
    with unit_of_work(db) as session:
        result = offers.apply(session, actor, offer_id, member_id, basket_fen=_fen(args.basket), coupon_code=args.coupon,
                              unit_price_fen=_fen(args.item_price))
    if args.json:
        print_json(result.to_json())
    else:
        parts = [f"¥{format_yuan(result.discount_fen)} off"] if result.discount_fen else []
        parts += [f"gift: {result.gift}"] if result.gift else []
        parts += [f"{result.points_spent} points spent"] if result.points_spent else []
        print(f"Applied {result.offer_name}: {', '.join(parts) or 'recorded'}.")
    return 0


def run_deactivate(db: Database, args: argparse.Namespace) -> int:
    actor = acting_staff(db, args)
    offer_id = _offer_id(db, args.offer)
    with unit_of_work(db) as session:
        info = offers.deactivate_offer(session, actor, offer_id)
    print(f"Offer {info.id} switched off: {info.name}")
    return 0
