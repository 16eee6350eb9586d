"""What the data-quality app plugs into the lower layers (registered in
DataQualityConfig.ready()). Each function imports its module when it is first called,
so starting the `guanxi` command does not load the matching and import machinery."""

from __future__ import annotations

from typing import Any

from guanxi.core.permissions import Actor
from guanxi.dataquality.permissions import DataAction


def autotags_apply(customer: Any) -> Any:
    from guanxi.dataquality.autotags import autotags_apply as apply

    return apply(customer)


def autotags_apply_many(customers: list[Any]) -> Any:
    from guanxi.dataquality.autotags import autotags_apply_many as apply_many

    return apply_many(customers)


def pending_pairs(actor: Actor, customer_id: int) -> dict[str, Any] | None:
    """The 360 page's banner: pairs with this customer waiting for review."""
    from guanxi.core.permissions import can
    from guanxi.dataquality.selectors import candidates_for_customer

    if not can(actor, DataAction.CUSTOMER_MERGE):
        return None
    pairs = candidates_for_customer(actor=actor, customer_id=customer_id)
    return {"candidates": pairs, "customer_id": customer_id} if pairs else None


def possible_duplicates(**person: Any) -> list[Any]:
    from guanxi.dataquality.selectors import possible_duplicates as find

    return find(**person)


def merged(event: Any) -> str:
    from django.utils.translation import gettext as _

    return _("Merged with #%(id)s %(name)s") % {"id": event.data["other"],
                                                "name": event.data.get("name", "")}


def unmerged(event: Any) -> str:
    from django.utils.translation import gettext as _

    return _("Merge with #%(id)s %(name)s undone") % {"id": event.data["other"],
                                                      "name": event.data.get("name", "")}


# The workspace shell: home card and global search.

def review_card(actor: Actor) -> dict[str, Any] | None:
    """Pairs waiting for review and the latest imports."""
    from guanxi.core.permissions import can
    from guanxi.dataquality.permissions import DataAction
    from guanxi.dataquality.selectors import candidate_list, import_list

    pairs = candidate_list(actor=actor).count()
    imports = import_list(actor=actor, limit=3) if can(actor, DataAction.DATA_IMPORT) else []
    return {"pairs": pairs, "imports": imports}


def search_imports(actor: Actor, query: str, limit: int) -> list[Any]:
    from django.urls import reverse

    from guanxi.core.shell import SearchHit
    from guanxi.dataquality.selectors import import_list

    found = import_list(actor=actor, limit=limit, name=query)
    return [SearchHit(title=j.original_name, detail=str(j.get_status_display()),
                      url=reverse("dataquality:import", args=[j.pk])) for j in found]
