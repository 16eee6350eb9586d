"""What the customers app adds to the workspace shell (registered in its ready())."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from guanxi.core.permissions import Actor
from guanxi.core.shell import (
    HomeCard,
    NavEntry,
    SearchHit,
    SearchProvider,
    register_home_card,
    register_nav,
    register_search_provider,
)
from guanxi.customers.permissions import CustomerAction


def newest_customers(actor: Actor) -> dict[str, Any] | None:
    from guanxi.customers.selectors import customer_search

    page = customer_search(actor=actor, limit=6)
    return {"customers": page.items}


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
                          CustomerAction.CUSTOMER_VIEW, order=10))
    register_home_card(HomeCard("customers.newest", "customers/_home_newest.html",
                                newest_customers, CustomerAction.CUSTOMER_VIEW, order=10))
    register_search_provider(SearchProvider("customers", _("Customers"), search_customers,
                                            CustomerAction.CUSTOMER_VIEW, order=10))
