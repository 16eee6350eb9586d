"""Loyalty's automation actions: award points and issue a coupon, each once per step
key (a repeated step gets the first answer)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from guanxi.core.errors import InvalidInput


def award_points(*, customer_id: int, config: Mapping[str, Any], key: str
                 ) -> Mapping[str, Any]:
    from guanxi.customers.models import Customer
    from guanxi.loyalty.idempotency import once
    from guanxi.loyalty.services import member_locked, points_award, summary

    customer = Customer.objects.get(pk=customer_id)
    try:
        points = int(config.get("points") or 0)
    except (TypeError, ValueError) as exc:
        raise InvalidInput.single("points", _("A whole number of points"),
                                  config.get("points")) from exc
    reason = str(config.get("reason") or _("Automation"))

    def run() -> dict[str, Any]:
        points_award(actor=None, customer=customer, points=points, reason=reason)
        return summary(member_locked(customer))

    return once(f"automation:{key}", {"points": points}, run,
                lock=lambda: member_locked(customer))


def tier_birthday_points(*, customer_id: int, config: Mapping[str, Any], key: str
                         ) -> Mapping[str, Any]:
    """The birthday points of the member's tier (none for a tier without them)."""
    from guanxi.loyalty.models import Member

    member = Member.objects.filter(customer_id=customer_id).select_related("tier").first()
    points = member.tier.birthday_points if member and member.tier else 0
    if not points:
        return {"points": 0}
    return award_points(customer_id=customer_id,
                        config={"points": points, "reason": config.get("reason")
                                or _("Birthday")}, key=key)


def issue_coupon(*, customer_id: int, config: Mapping[str, Any], key: str
                 ) -> Mapping[str, Any]:
    from guanxi.customers.models import Customer
    from guanxi.loyalty.coupons import coupon_issue
    from guanxi.loyalty.models import CouponTemplate

    template = CouponTemplate.objects.filter(pk=int(config.get("template") or 0)).first()
    if template is None:
        raise InvalidInput.single("template", _("No such coupon template"),
                                  config.get("template"))
    coupon = coupon_issue(actor=None, template=template,
                          customer=Customer.objects.get(pk=customer_id),
                          source="automation", key=f"automation:{key}")
    return {"coupon": coupon.pk}


def template_choices() -> list[tuple[str, str]]:
    from guanxi.loyalty.models import CouponTemplate

    return [(str(t.pk), t.name) for t in CouponTemplate.objects.filter(active=True)
            .order_by("name")]
