"""What the customers app adds to the workspace shell (registered in its ready())."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from guanxi.core.lazy import lazy
from guanxi.core.permissions import Actor
from guanxi.core.shell import (
    HomeCard,
    HomeTile,
    NavEntry,
    SearchHit,
    SearchProvider,
    register_home_card,
    register_home_tile,
    register_nav,
    register_search_provider,
    register_settings_link,
)
from guanxi.customers.permissions import CustomerAction


def newest_customers(actor: Actor) -> dict[str, Any] | None:
    from guanxi.customers.selectors import customer_search

    page = customer_search(actor=actor, limit=6)
    return {"customers": page.items}


def my_follow_ups(actor: Actor) -> dict[str, Any] | None:
    from django.utils import timezone

    from guanxi.customers.selectors import follow_ups_due

    return {"follow_ups": follow_ups_due(actor=actor), "today": timezone.localdate()}


def recent_customers(actor: Actor) -> dict[str, Any] | None:
    from guanxi.customers.selectors import recently_viewed

    customers = recently_viewed(actor=actor)
    return {"customers": customers} if customers else None


def search_customers(actor: Actor, query: str, limit: int) -> list[SearchHit]:
    from guanxi.customers.selectors import customer_search

    hits = []
    for c in customer_search(actor=actor, q=query, limit=limit).items:
        detail = " · ".join(x for x in (c.region, c.get_source_display()) if x)
        hits.append(SearchHit(title=c.display_name, detail=detail,
                              url=reverse("customers:detail", args=[c.pk])))
    return hits


def register_customers_shell() -> None:
    register_nav(NavEntry("customers", _("Customers"), "customers:list",
                          CustomerAction.CUSTOMER_VIEW, order=10, icon="users"))
    view = CustomerAction.CUSTOMER_VIEW
    register_settings_link(NavEntry("products", _("Products and categories"),
                                    "customers:products", CustomerAction.ORDER_CREATE, 20,
                                    icon="package"))
    register_settings_link(NavEntry("companies", _("Companies"), "customers:companies",
                                    CustomerAction.CUSTOMER_CHANGE, 30, icon="building"))
    kpis = "guanxi.customers.kpis"
    for order, (name, label) in enumerate((
            ("customers", _("Customers")), ("new_month", _("New this month")),
            ("revenue", _("Revenue, 30 days")), ("repurchase", _("Repurchase rate")))):
        register_home_tile(HomeTile(f"customers.{name}", label, lazy(f"{kpis}:tile_{name}"),
                                    view, order=10 + 10 * order))
    register_home_card(HomeCard("customers.follow_ups", "customers/_home_follow_ups.html",
                                my_follow_ups, CustomerAction.INTERACTION_LOG, order=5))
    register_home_card(HomeCard("customers.recent", "customers/_home_recent.html",
                                recent_customers, view, order=8))
    register_home_card(HomeCard("customers.newest", "customers/_home_newest.html",
                                newest_customers, view, order=10))
    register_search_provider(SearchProvider("customers", _("Customers"), search_customers,
                                            CustomerAction.CUSTOMER_VIEW, order=10))
