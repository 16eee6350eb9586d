"""Coupons: templates, codes (issued to a customer or generated in batches), the
discount a code gives an order, and redemption — once per code, through the API or at
the desk. Codes are 12 characters from a 31-letter alphabet without look-alikes
(about 59 bits from `secrets`): not guessable, and readable over the phone."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.audit.services import log_action
from guanxi.core.errors import Conflict, DomainError, FieldError, InvalidInput, NotFound
from guanxi.core.permissions import Actor, require
from guanxi.customers.models import Customer
from guanxi.loyalty.idempotency import once
from guanxi.loyalty.models import Coupon, CouponKind, CouponTemplate
from guanxi.loyalty.permissions import LoyaltyAction
from guanxi.timeline.services import event_append

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ2345679"  # no I, O, 0, 1, 8
CODE_LENGTH = 12
CENT = Decimal("0.01")


def code_new() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def code_clean(text: str) -> str:
    """What a person typed, as stored: upper case, without spaces and dashes."""
    return "".join(ch for ch in (text or "").upper() if ch not in " -\t")


def code_show(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


@dataclass(frozen=True)
class Item:
    sku: str
    category: str
    amount: Decimal


def _lines(text: str) -> set[str]:
    return {ln.strip() for ln in (text or "").splitlines() if ln.strip()}


def discount(template: CouponTemplate, items: Sequence[Item]) -> Decimal:
    """The discount the template gives these order items (pure): raises ValueError with
    the reason when the order does not qualify."""
    skus, categories = _lines(template.skus), _lines(template.categories)
    eligible = [i for i in items if (not skus or i.sku in skus)
                and (not categories or i.category in categories)]
    base = sum((i.amount for i in eligible), Decimal(0))
    if (skus or categories) and not eligible:
        raise ValueError(_("No item of the order is covered by this coupon"))
    if base < template.min_spend:
        raise ValueError(_("The minimum spend is %(min)s (the covered items come to "
                           "%(base)s)") % {"min": template.min_spend, "base": base})
    if template.kind == CouponKind.AMOUNT:
        return min(template.value, base)
    if template.kind == CouponKind.PERCENT:
        off = (base * template.value / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        return min(off, template.cap) if template.cap else off
    return Decimal(0)  # a gift or free shipping: no amount off the items


def template_save(*, actor: Actor, template: CouponTemplate) -> CouponTemplate:
    require(actor, LoyaltyAction.MANAGE)
    errors: list[FieldError] = []
    if not template.name.strip():
        errors.append(FieldError("name", _("This field cannot be empty")))
    if template.kind == CouponKind.PERCENT and not 0 < template.value <= 100:
        errors.append(FieldError("value", _("A percentage between 0 and 100"), template.value))
    if template.kind == CouponKind.AMOUNT and template.value <= 0:
        errors.append(FieldError("value", _("An amount above zero"), template.value))
    if template.kind == CouponKind.GIFT and not template.gift.strip():
        errors.append(FieldError("gift", _("Name the gift")))
    if template.valid_from and template.valid_until and \
            template.valid_until <= template.valid_from:
        errors.append(FieldError("valid_until", _("Must be after the start")))
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        created = template.pk is None
        template.save()
        log_action(actor=actor, action="loyalty.coupon_template", obj=template,
                   changes={"name": [None, template.name]} if created else {},
                   extra={"kind": template.kind, "value": str(template.value)})
    return template


def _window(template: CouponTemplate, at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    start = max(template.valid_from or at, at)
    end = start + dt.timedelta(days=template.valid_days or 30)
    if template.valid_until:
        end = min(end, template.valid_until)
    return start, end


def coupon_issue(*, actor: Actor, template: CouponTemplate, customer: Customer,
                 source: str = "", key: str | None = None) -> Coupon:
    """Give the customer a coupon from the template; with `key`, once per key (the same
    coupon is returned on a repeat)."""
    if actor is not None:
        require(actor, LoyaltyAction.WORK)
    if key and (found := Coupon.objects.filter(issue_key=key[:200]).first()):
        return found
    if not template.active:
        raise Conflict(_("The coupon template is switched off"), field_name="template")
    now = timezone.now()
    start, end = _window(template, now)
    if end <= now:
        raise Conflict(_("The coupon template's validity has ended"), field_name="template")
    with transaction.atomic():
        if template.per_customer:
            held = Coupon.objects.select_for_update().filter(
                template=template, customer=customer).exclude(state=Coupon.State.VOID).count()
            if held >= template.per_customer:
                raise Conflict(_("The customer has the most coupons of this kind "
                                 "(%(n)d) already") % {"n": template.per_customer},
                               field_name="customer_id")
        coupon = _create(template=template, customer=customer, valid_from=start,
                         valid_until=end, source=source[:100], issue_key=key[:200] if key
                         else None)
        event_append(customer_id=customer.pk, kind="coupon_issued", actor=actor,
                     data={"coupon": coupon.pk, "template": template.name,
                           "valid_until": end.date().isoformat()})
        log_action(actor=actor, action="loyalty.coupon_issue", obj=coupon,
                   customer_id=customer.pk, extra={"template": template.pk,
                                                   "source": source})
    return coupon


def _create(**fields: Any) -> Coupon:
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Coupon.objects.create(code=code_new(), **fields)
        except IntegrityError:
            if fields.get("issue_key") and Coupon.objects.filter(
                    issue_key=fields["issue_key"]).exists():
                raise
    raise AssertionError("no free coupon code after 5 tries")


def coupons_generate(*, actor: Actor, template: CouponTemplate, count: int) -> list[str]:
    """A batch of unassigned codes (to print or hand to a partner); the first customer
    who redeems a code owns it."""
    require(actor, LoyaltyAction.MANAGE)
    if not 1 <= count <= 100_000:
        raise InvalidInput.single("count", _("Between 1 and 100,000"), count)
    start, end = _window(template, timezone.now())
    codes: set[str] = set()
    with transaction.atomic():
        while len(codes) < count:
            fresh = {code_new() for _ in range(count - len(codes))} - codes
            fresh -= set(Coupon.objects.filter(code__in=fresh).values_list("code", flat=True))
            Coupon.objects.bulk_create([Coupon(template=template, code=c, valid_from=start,
                                               valid_until=end, source="batch")
                                        for c in fresh], batch_size=2000)
            codes |= fresh
        log_action(actor=actor, action="loyalty.coupon_batch", obj=template,
                   changes={"count": [None, count]})
    return sorted(codes)


def _usable(coupon: Coupon, customer: Customer | None, at: dt.datetime) -> None:
    if coupon.state != Coupon.State.ISSUED:
        raise Conflict(_("Coupon %(code)s was %(state)s") % {
            "code": code_show(coupon.code), "state": coupon.get_state_display()},
            field_name="codes", extra={"state": coupon.state})
    if not coupon.valid_from <= at < coupon.valid_until:
        raise Conflict(_("Coupon %(code)s is valid from %(start)s until %(end)s") % {
            "code": code_show(coupon.code), "start": coupon.valid_from.date(),
            "end": coupon.valid_until.date()}, field_name="codes")
    if coupon.customer_id and (customer is None or coupon.customer_id != customer.pk):
        raise Conflict(_("Coupon %(code)s belongs to another customer")
                       % {"code": code_show(coupon.code)}, field_name="codes")


def _find(codes: Sequence[str], *, lock: bool = False) -> list[Coupon]:
    wanted = [code_clean(c) for c in codes]
    if not wanted:
        raise InvalidInput.single("codes", _("Give at least one coupon code"))
    if len(set(wanted)) != len(wanted):
        raise InvalidInput.single("codes", _("The same code twice"))
    qs = Coupon.objects.filter(code__in=wanted).select_related("template")
    found = {c.code: c for c in (qs.select_for_update(of=("self",)) if lock else qs)}
    missing = [code_show(c) for c in wanted if c not in found]
    if missing:
        raise NotFound(_("No such coupon: %(codes)s") % {"codes": ", ".join(missing)})
    return [found[c] for c in wanted]


def coupons_check(coupons: Sequence[Coupon], customer: Customer | None,
                  items: Sequence[Item], at: dt.datetime) -> list[Decimal]:
    """Each coupon's discount on the order, or a domain error naming the code: used,
    outside its dates, another customer's, not combinable, or the order not qualifying."""
    if len(coupons) > 1:
        for c in coupons:
            if not c.template.stackable:
                raise Conflict(_("Coupon %(code)s cannot be combined with other coupons")
                               % {"code": code_show(c.code)}, field_name="codes")
    amounts = []
    for c in coupons:
        _usable(c, customer, at)
        try:
            amounts.append(discount(c.template, items))
        except ValueError as exc:
            raise DomainError(message=str(exc), status=422, code="coupon_not_applicable",
                              errors=[FieldError("codes", f"{code_show(c.code)}: {exc}")]
                              ) from exc
    total = sum((i.amount for i in items), Decimal(0))
    if sum(amounts, Decimal(0)) > total:  # stacked coupons never take the order below 0
        over = sum(amounts, Decimal(0)) - total
        amounts[-1] = max(amounts[-1] - over, Decimal(0))
    return amounts


def coupons_validate(*, actor: Actor, codes: Sequence[str], customer: Customer | None,
                     items: Sequence[Item]) -> list[dict[str, Any]]:
    require(actor, LoyaltyAction.WORK)
    coupons = _find(codes)
    amounts = coupons_check(coupons, customer, items, timezone.now())
    return [coupon_out(c, a) for c, a in zip(coupons, amounts, strict=True)]


def coupon_out(c: Coupon, amount: Decimal | None = None) -> dict[str, Any]:
    return {"code": code_show(c.code), "template": c.template.name, "kind": c.template.kind,
            "discount": str(c.discount if amount is None else amount),
            "gift": c.template.gift, "state": c.state,
            "valid_until": c.valid_until.isoformat(), "customer_id": c.customer_id}


def coupons_redeem(*, actor: Actor, codes: Sequence[str], customer: Customer | None,
                   items: Sequence[Item], order_ref: str, idempotency_key: str
                   ) -> dict[str, Any]:
    """Use the codes on an order: each once, all or none."""
    require(actor, LoyaltyAction.WORK)
    request = {"codes": sorted(code_clean(c) for c in codes), "order_ref": order_ref,
               "customer": customer.pk if customer else None,
               "items": [(i.sku, i.category, str(i.amount)) for i in items]}

    def run() -> dict[str, Any]:
        coupons = _find(codes, lock=True)
        now = timezone.now()
        amounts = coupons_check(coupons, customer, items, now)
        for c, amount in zip(coupons, amounts, strict=True):
            c.state, c.redeemed_at, c.order_ref, c.discount = (
                Coupon.State.REDEEMED, now, order_ref[:100], amount)
            if c.customer_id is None and customer is not None:
                c.customer = customer
            c.save(update_fields=["state", "redeemed_at", "order_ref", "discount",
                                  "customer"])
            if c.customer_id:
                event_append(customer_id=c.customer_id, kind="coupon_redeemed", actor=actor,
                             data={"coupon": c.pk, "template": c.template.name,
                                   "discount": str(amount), "reference": order_ref[:100]})
            log_action(actor=actor, action="loyalty.coupon_redeem", obj=c,
                       customer_id=c.customer_id, changes={"state": ["issued", "redeemed"]},
                       extra={"order_ref": order_ref, "discount": str(amount)})
        return {"coupons": [coupon_out(c) for c in coupons],
                "discount": str(sum(amounts, Decimal(0)))}

    return once(f"coupons:{idempotency_key}", request, run)


def coupon_void(*, actor: Actor, coupon: Coupon) -> Coupon:
    require(actor, LoyaltyAction.WORK)
    with transaction.atomic():
        coupon = Coupon.objects.select_for_update().get(pk=coupon.pk)
        if coupon.state != Coupon.State.ISSUED:
            raise Conflict(_("Only an unused coupon can be voided"))
        coupon.state = Coupon.State.VOID
        coupon.save(update_fields=["state"])
        log_action(actor=actor, action="loyalty.coupon_void", obj=coupon,
                   customer_id=coupon.customer_id, changes={"state": ["issued", "void"]})
    return coupon
