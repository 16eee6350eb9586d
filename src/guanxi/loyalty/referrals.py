"""Referrals: each member's code, link and QR code; a friend who arrives with a code is
recorded (once per friend), both are rewarded after the friend's first paid order, and
guards refuse the member themselves and their household — the same phone, address or
payment account as the referrer's."""

from __future__ import annotations

import secrets
from io import BytesIO
from typing import Any

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.audit.services import log_action
from guanxi.core.errors import Conflict, InvalidInput, NotFound
from guanxi.core.permissions import Actor, require
from guanxi.customers.models import Address, Customer, Identity, Order, OrderStatus
from guanxi.customers.normalize import normalize_phone
from guanxi.loyalty.coupons import ALPHABET
from guanxi.loyalty.models import Member, Referral
from guanxi.loyalty.permissions import LoyaltyAction
from guanxi.loyalty.services import member_enrol, points_award, programme_get

PAYMENT_SYSTEMS = ("payment", "alipay", "wechatpay", "unionpay", "card")


def referral_code(customer: Customer) -> str:
    """The member's code (made the first time it is asked for)."""
    member = member_enrol(customer)
    for _attempt in range(5):
        if member.referral_code:
            return member.referral_code
        code = "".join(secrets.choice(ALPHABET) for _ in range(8))
        try:
            with transaction.atomic():  # the unique index refuses a code in use
                Member.objects.filter(pk=member.pk, referral_code__isnull=True).update(
                    referral_code=code)
        except IntegrityError:
            continue
        member.refresh_from_db(fields=["referral_code"])
    raise AssertionError("no free referral code")


def referral_link(customer: Customer) -> str:
    return f"{settings.GUANXI_PUBLIC_URL.rstrip('/')}/r/{referral_code(customer)}"


def qr_svg(text: str) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    out = BytesIO()
    image.save(out)
    return out.getvalue().decode()


def _phones(customer: Customer) -> set[str]:
    return set(Identity.objects.filter(customer=customer, kind="phone")
               .values_list("value", flat=True))


def _addresses(customer: Customer) -> set[tuple[str, ...]]:
    return {tuple(v.strip() for v in row) for row in Address.objects.filter(
        customer=customer).exclude(street="").values_list("province", "city", "district",
                                                          "street")}


def _payments(customer: Customer) -> set[str]:
    return set(Identity.objects.filter(customer=customer, kind="external",
                                       system__in=PAYMENT_SYSTEMS)
               .values_list("value", flat=True))


def _phone(value: str) -> str:
    try:
        return normalize_phone(value)
    except InvalidInput:
        return value.strip()


def guard(referrer: Customer, referee: Customer, *, phone: str = "",
          address: tuple[str, ...] = (), payment_id: str = "") -> str:
    """Why the referral may not count ("" when it may): the member themselves, or the
    same phone, address or payment account as the referrer (the referee's own records,
    or what the shop saw at checkout)."""
    if referrer.pk == referee.pk:
        return "self"
    phones = _phones(referee) | ({_phone(phone)} if phone else set())
    if phones & _phones(referrer):
        return "same_phone"
    addresses = _addresses(referee) | ({tuple(a.strip() for a in address)}
                                       if address and address[-1].strip() else set())
    if addresses & _addresses(referrer):
        return "same_address"
    payments = _payments(referee) | ({payment_id.strip()} if payment_id.strip() else set())
    if payments & _payments(referrer):
        return "same_payment"
    return ""


def referral_record(*, actor: Actor, code: str, referee: Customer, phone: str = "",
                    address: tuple[str, ...] = (), payment_id: str = "") -> Referral:
    """The friend arrived with a member's code (the shop's sign-up, the member page's
    link, staff). Once per friend; a guard's refusal is recorded with its reason."""
    if actor is not None:
        require(actor, LoyaltyAction.WORK)
    owner = Member.objects.filter(referral_code=(code or "").strip().upper()).select_related(
        "customer").first()
    if owner is None:
        raise NotFound(_("No member has the referral code %(code)s") % {"code": code})
    with transaction.atomic():
        existing = Referral.objects.select_for_update().filter(referee=referee).first()
        if existing is not None:
            if existing.referrer_id == owner.customer_id:
                return existing  # the shop sent it again
            raise Conflict(_("This customer was referred already"), field_name="customer_id")
        if Order.objects.filter(customer=referee, status=OrderStatus.PAID).exists():
            raise InvalidInput.single("customer_id", _(
                "Only a new customer can be referred (this one has bought before)"))
        reason = guard(owner.customer, referee, phone=phone, address=address,
                       payment_id=payment_id)
        referral = Referral.objects.create(
            referrer=owner.customer, referee=referee, reason=reason,
            state=Referral.State.REJECTED if reason else Referral.State.PENDING)
        log_action(actor=actor, action="loyalty.referral", obj=referral,
                   customer_id=referee.pk, extra={"referrer": owner.customer_id,
                                                  "rejected": reason})
    return referral


def referral_reward(order: Order) -> Referral | None:
    """After the referee's first paid order: points to both (the programme's amounts),
    once."""
    if order.status != OrderStatus.PAID:
        return None
    with transaction.atomic():
        referral = Referral.objects.select_for_update().filter(
            referee_id=order.customer_id, state=Referral.State.PENDING).first()
        if referral is None:
            return None
        first = Order.objects.filter(customer_id=order.customer_id,
                                     status=OrderStatus.PAID).order_by("placed_at", "pk")
        if first.values_list("pk", flat=True).first() != order.pk:
            return None
        prog = programme_get()
        if prog.referrer_points:
            points_award(actor=None, customer=referral.referrer, points=prog.referrer_points,
                         reason=f"referral:{referral.referee_id}")
        if prog.referee_points:
            points_award(actor=None, customer=order.customer, points=prog.referee_points,
                         reason=f"referred:{referral.referrer_id}")
        referral.state, referral.order, referral.rewarded_at = (
            Referral.State.REWARDED, order, timezone.now())
        referral.save(update_fields=["state", "order", "rewarded_at"])
        log_action(actor=None, action="loyalty.referral_rewarded", obj=referral,
                   customer_id=referral.referrer_id, extra={"order": order.pk})
    return referral


def referral_tree(customer: Customer, *, depth: int = 2) -> dict[str, Any]:
    """Who referred the customer, and whom they referred (and those friends' friends):
    one query for the customer's own referrals either way, one per further level."""
    customer_id = customer.pk
    mine = list(Referral.objects.filter(Q(referee_id=customer_id) | Q(referrer_id=customer_id))
                .select_related("referrer", "referee").order_by("created_at")[:51])
    parent = next((r for r in mine if r.referee_id == customer_id), None)
    top: list[dict[str, Any]] = [{"referral": r, "customer": r.referee, "children": []}
                                 for r in mine if r.referrer_id == customer_id]
    level = top
    for _depth in range(depth - 1):
        by_referrer: dict[int, dict[str, Any]] = {node["customer"].pk: node
                                                  for node in level}
        if not by_referrer:
            break
        level = []
        for r in (Referral.objects.filter(referrer_id__in=by_referrer)
                  .select_related("referee").order_by("created_at")[:500]):
            node: dict[str, Any] = {"referral": r, "customer": r.referee, "children": []}
            by_referrer[r.referrer_id]["children"].append(node)
            level.append(node)
    return {"parent": parent, "children": top}
