"""The rewards catalogue: a member takes a reward for points (a coupon issued from its
template, or a gift handed over while stock lasts), once per idempotency key."""

from __future__ import annotations

from typing import Any

from django.db.models import F
from django.utils.translation import gettext as _

from guanxi.audit.services import log_action
from guanxi.core.errors import Conflict, DomainError, FieldError
from guanxi.core.permissions import Actor, require
from guanxi.customers.models import Customer
from guanxi.loyalty import services
from guanxi.loyalty.coupons import code_show, coupon_issue
from guanxi.loyalty.idempotency import once
from guanxi.loyalty.models import Account, JournalKind, Reward
from guanxi.loyalty.permissions import LoyaltyAction


def reward_redeem(*, actor: Actor, customer: Customer, reward: Reward,
                  idempotency_key: str) -> dict[str, Any]:
    """Spend the reward's points and hand it out: 409 `insufficient_points` when the
    balance is short, 409 `out_of_stock` when none is left."""
    require(actor, LoyaltyAction.WORK)

    def run() -> dict[str, Any]:
        member = services.member_locked(customer)
        if not reward.active:
            raise Conflict(_("This reward is not offered any more"), field_name="reward_id")
        if reward.stock is not None and not Reward.objects.filter(
                pk=reward.pk, stock__gt=0).update(stock=F("stock") - 1):
            text = _("%(reward)s is out of stock") % {"reward": reward.name}
            raise DomainError(message=text, status=409, code="out_of_stock",
                              errors=[FieldError("reward_id", text)])
        journal = services.debit(member, JournalKind.REDEEM, reward.points,
                                  Account.REDEEMED, reason=f"reward:{reward.pk}", actor=actor)
        services.member_event(member, "points_spent", actor, points=reward.points,
                        reference=reward.name[:100])
        coupon = None
        if reward.coupon is not None:
            coupon = coupon_issue(actor=None, template=reward.coupon, customer=customer,
                                  source=f"reward:{reward.pk}", key=f"reward:{journal.pk}")
        log_action(actor=actor, action="loyalty.reward", obj=reward, customer_id=customer.pk,
                   changes={"points": [None, -reward.points]},
                   extra={"journal": journal.pk})
        return {**services.summary(member), "reward": reward.name,
                "coupon": code_show(coupon.code) if coupon else None}

    return once(f"reward:{customer.pk}:{idempotency_key}", {"reward": reward.pk}, run,
                lock=lambda: services.member_locked(customer))
