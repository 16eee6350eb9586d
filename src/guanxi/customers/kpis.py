"""The customers app's figures for the home page: customers, new this month, revenue of
the last 30 days and the repurchase rate, each with a weekly series for its sparkline.
Scoped like every read (a salesperson sees their team's), cached for a few minutes."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Sum
from django.db.models.functions import TruncWeek
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from guanxi.core.permissions import Actor, effective_role, is_team_scoped
from guanxi.core.shell import Tile
from guanxi.customers.models import Order, OrderStatus
from guanxi.customers.selectors import visible_customers

WEEKS = 12
CACHE_S = 300


def _scope_key(actor: Actor) -> str:
    if is_team_scoped(actor):
        return f"team:{getattr(actor, 'team_id', None) or 'u' + str(getattr(actor, 'pk', ''))}"
    return f"role:{effective_role(actor)}"


def _weeks(now: dt.datetime) -> list[dt.date]:
    monday = timezone.localtime(now).date() - dt.timedelta(days=timezone.localtime(now).weekday())
    return [monday - dt.timedelta(weeks=WEEKS - 1 - i) for i in range(WEEKS)]


def _series(rows: Any, weeks: list[dt.date]) -> tuple[float, ...]:
    by_week: dict[dt.date, float] = defaultdict(float)
    for week, value in rows:
        if week is not None:
            day = timezone.localtime(week).date() if isinstance(week, dt.datetime) else week
            by_week[day] += float(value or 0)
    return tuple(by_week.get(w, 0.0) for w in weeks)


def customer_figures(*, actor: Actor) -> dict[str, Any]:
    """The figures behind the tiles (cached per role scope for CACHE_S seconds)."""
    key = f"gx:kpi:customers:{_scope_key(actor)}"
    figures = cache.get(key)
    if figures is not None:
        return figures
    now = timezone.now()
    weeks = _weeks(now)
    since = timezone.make_aware(dt.datetime.combine(weeks[0], dt.time()))
    month_start = timezone.make_aware(dt.datetime.combine(
        timezone.localdate().replace(day=1), dt.time()))
    customers = visible_customers(actor)
    paid = Order.objects.filter(status=OrderStatus.PAID)
    if is_team_scoped(actor):
        paid = paid.filter(customer__in=customers)
    revenue30 = dict(paid.filter(placed_at__gte=now - dt.timedelta(days=30))
                     .values_list("currency").annotate(s=Sum("total")).order_by("-s")[:3])
    currency = next(iter(revenue30), "CNY")
    year = paid.filter(placed_at__gte=now - dt.timedelta(days=365)).values("customer")
    buyers = year.distinct().count()
    repeaters = year.annotate(n=Count("id")).filter(n__gte=2).count()
    figures = {
        "total": customers.count(),
        "new_month": customers.filter(created_at__gte=month_start).count(),
        "new_series": _series(customers.filter(created_at__gte=since)
                              .annotate(w=TruncWeek("created_at")).values_list("w")
                              .annotate(n=Count("id")).order_by(), weeks),
        "revenue30": revenue30.get(currency, Decimal(0)),
        "currency": currency,
        "revenue_series": _series(paid.filter(placed_at__gte=since, currency=currency)
                                  .annotate(w=TruncWeek("placed_at")).values_list("w")
                                  .annotate(s=Sum("total")).order_by(), weeks),
        "buyers": buyers, "repeaters": repeaters,
    }
    cache.set(key, figures, CACHE_S)
    return figures


def tile_customers(actor: Actor) -> Tile:
    f = customer_figures(actor=actor)
    return Tile(formats.number_format(f["total"], force_grouping=True),
                hint=_("visible to you"), url=reverse("customers:list"))


def tile_new_month(actor: Actor) -> Tile:
    f = customer_figures(actor=actor)
    return Tile(formats.number_format(f["new_month"], force_grouping=True), f["new_series"],
                _("new customers per week, last %(n)s weeks") % {"n": WEEKS},
                reverse("customers:list") + "?sort=-created")


def tile_revenue(actor: Actor) -> Tile:
    f = customer_figures(actor=actor)
    amount = formats.number_format(f["revenue30"], decimal_pos=0, force_grouping=True)
    return Tile(f"{amount} {f['currency']}", f["revenue_series"],
                _("paid orders, last 30 days; weekly"))


def tile_repurchase(actor: Actor) -> Tile | None:
    f = customer_figures(actor=actor)
    if not f["buyers"]:
        return Tile("—", hint=_("no paid orders in the last 12 months"))
    rate = 100 * f["repeaters"] / f["buyers"]
    return Tile(f"{rate:.0f}%", hint=_("%(r)s of %(b)s buyers ordered twice or more in 12 "
                                       "months") % {"r": f["repeaters"], "b": f["buyers"]})
