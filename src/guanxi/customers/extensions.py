"""What upper apps add to the customer pages and API, registered in their
AppConfig.ready(): panels on the 360 page, filters and bulk actions on the customer list,
and finders of possible duplicates for the create form and API. Customers iterates the
registries and never imports those apps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from guanxi.core.permissions import Actor, can


@dataclass(frozen=True)
class Panel:
    """A block on the 360 page: `context(actor, customer_id)` returns the template's
    context, or None to leave the panel out for this user and customer."""

    name: str
    template: str
    context: Callable[[Any, int], dict[str, Any] | None]
    # "header": badges in the page's highlights header; "banner": above the figures;
    # "main": in the side column below the profile and contacts.
    place: str = "main"
    order: int = 100


@dataclass(frozen=True)
class ListFilter:
    """A select on the customer list: `choices(actor)` gives (value, label) pairs. Either
    the query parameter `param` reaches customer_search as `argument` (an int), or, with
    `lookups`, it is a facet: `lookups(value)` gives the field lookups (relative to
    Customer, e.g. {"score__stage": "dormant"}) that select the customers with that
    value, so an upper app adds a filter without customers knowing its models."""

    param: str
    argument: str
    label: Any
    choices: Callable[[Any], list[tuple[Any, str]]]
    lookups: Callable[[str], dict[str, Any]] | None = None


@dataclass(frozen=True)
class BulkAction:
    """An action on many customers of the list: `run(actor, customers, value)` changes a
    chunk through the services and returns how many it changed; `check(actor, value)`
    refuses a bad value before anything is queued; `value` says what the form asks for
    ("tag", "owner" or "" for nothing). Needs the permission `action`."""

    name: str
    label: Any
    action: str
    run: Callable[[Any, list[Any], str], int]
    check: Callable[[Any, str], None]
    value: str = ""
    order: int = 100


# The durable-work queue of bulk actions on "all N matching" (customers.services.bulk).
BULK_QUEUE = "customers.bulk"

DuplicateFinder = Callable[..., list[Any]]

_PANELS: dict[str, Panel] = {}
_FILTERS: dict[str, ListFilter] = {}
_FINDERS: list[DuplicateFinder] = []
_BULK: dict[str, BulkAction] = {}


def register_bulk_action(action: BulkAction) -> None:
    _BULK[action.name] = action


def bulk_actions_for(actor: Actor) -> list[BulkAction]:
    return [a for a in sorted(_BULK.values(), key=lambda a: (a.order, a.name))
            if can(actor, a.action)]


def bulk_action_get(name: str) -> BulkAction | None:
    return _BULK.get(name)


def register_panel(panel: Panel) -> None:
    _PANELS[panel.name] = panel


def register_list_filter(list_filter: ListFilter) -> None:
    _FILTERS[list_filter.param] = list_filter


def register_duplicate_finder(finder: DuplicateFinder) -> None:
    if finder not in _FINDERS:
        _FINDERS.append(finder)


def panels_for(actor: Actor, customer_id: int, place: str) -> list[tuple[Panel, dict[str, Any]]]:
    out = []
    for panel in sorted(_PANELS.values(), key=lambda p: (p.order, p.name)):
        if panel.place == place and (context := panel.context(actor, customer_id)) is not None:
            out.append((panel, context))
    return out


def list_filters() -> list[ListFilter]:
    return list(_FILTERS.values())


def facet_lookups(facets: Any, prefix: str = "") -> dict[str, Any]:
    """The field lookups of the facets {param: value} given (unknown ones ignored)."""
    out: dict[str, Any] = {}
    for param, value in (facets or {}).items():
        spec = _FILTERS.get(param)
        if spec is not None and spec.lookups is not None and value:
            out.update({prefix + k: v for k, v in spec.lookups(str(value)).items()})
    return out


def possible_duplicates(*, actor: Actor, **person: Any) -> list[Any]:
    """Customers who may be the person about to be created, from every finder."""
    found: dict[int, Any] = {}
    for finder in _FINDERS:
        for customer in finder(actor=actor, **person):
            found.setdefault(customer.pk, customer)
    return list(found.values())
