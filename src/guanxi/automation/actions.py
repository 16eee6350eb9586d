"""The automation app's own actions (registered in AutomationConfig.ready()): set a
profile field, assign an owner by a rule, log a note. Each is a no-op the second time it
gets the same key (the engine also never calls an action twice with one key)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.models import Team, User
from guanxi.automation.models import TriggerState
from guanxi.core.permissions import roles_granted
from guanxi.customers.models import Channel, Customer, Gender, Language, Source
from guanxi.customers.permissions import CustomerAction
from guanxi.customers.selectors import customer_for_system
from guanxi.customers.services import customer_update_automatic
from guanxi.timeline.services import event_append

SETTABLE = {
    "gender": (_("Gender"), Gender.choices),
    "preferred_language": (_("Preferred language"), Language.choices),
    "preferred_channel": (_("Preferred channel"), Channel.choices),
    "source": (_("Source"), Source.choices),
    "region": (_("Region"), None),
    "occupation": (_("Occupation"), None),
}


def settable_fields() -> list[tuple[str, str]]:
    return [(name, str(label)) for name, (label, _c) in SETTABLE.items()]


def team_choices() -> list[tuple[str, str]]:
    return [("", str(_("Everyone who can own customers")))] + [
        (str(t.pk), t.name) for t in Team.objects.order_by("name")]


def mode_choices() -> list[tuple[str, str]]:
    return [("round_robin", str(_("Round robin"))),
            ("least_loaded", str(_("Fewest customers")))]


def set_field(*, customer_id: int, config: Mapping[str, Any], key: str) -> dict[str, Any]:
    customer = customer_for_system(customer_id)
    if customer is None:
        return {"done": False, "why": "customer gone"}
    field, value = str(config["field"]), str(config["value"])
    choices = SETTABLE[field][1]
    if choices is not None and value not in {v for v, _l in choices}:
        return {"done": False, "why": f"not a choice of {field}"}
    if getattr(customer, field) == value:
        return {"done": False, "why": "already set"}
    customer_update_automatic(customer=customer, **{field: value})
    return {"done": True, "field": field}


def _candidates(team: str) -> list[User]:
    """Active staff whose role may own customers (of the team, if one is named), in a
    fixed order."""
    query = User.objects.filter(is_active=True).filter(
        Q(role__in=roles_granted(CustomerAction.CUSTOMER_OWN)) | Q(is_superuser=True))
    if team:
        query = query.filter(team_id=int(team))
    return list(query.order_by("pk"))


def pick_owner(mode: str, team: str) -> User | None:
    """The next owner by the rule: round robin over the active staff (people made
    inactive are skipped; the position survives restarts), or the one owning the fewest
    customers."""
    people = _candidates(team)
    if not people:
        return None
    if mode == "least_loaded":
        load = dict(Customer.objects.filter(owner__in=people, erased_at__isnull=True)
                    .values_list("owner").annotate(n=Count("pk")).values_list("owner", "n"))
        return min(people, key=lambda u: (load.get(u.pk, 0), u.pk))
    state, _created = TriggerState.objects.select_for_update().get_or_create(
        name=f"round_robin:{team or 'all'}")
    last = int(state.value or 0)
    chosen = next((u for u in people if u.pk > last), people[0])
    state.value = str(chosen.pk)
    state.save(update_fields=["value", "updated_at"])
    return chosen


def assign_owner(*, customer_id: int, config: Mapping[str, Any], key: str) -> dict[str, Any]:
    customer = customer_for_system(customer_id)
    if customer is None:
        return {"done": False, "why": "customer gone"}
    if customer.owner_id and config.get("only_unowned", True):
        return {"done": False, "why": "has an owner"}
    owner = pick_owner(str(config.get("mode") or "round_robin"), str(config.get("team") or ""))
    if owner is None:
        return {"done": False, "why": "no one to assign"}
    customer_update_automatic(customer=customer, owner=owner)
    return {"done": True, "owner": owner.pk}


def log_note(*, customer_id: int, config: Mapping[str, Any], key: str) -> dict[str, Any]:
    if customer_for_system(customer_id) is None:
        return {"done": False, "why": "customer gone"}
    event_append(customer_id=customer_id, kind="automation_note",
                 summary=str(config["text"]), source="automation",
                 idempotency_key=f"note:{key}")
    return {"done": True}
