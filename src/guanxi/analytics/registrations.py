"""What the analytics app plugs into the lower layers (registered in
AnalyticsConfig.ready()). Each function imports its module when it is first called, so
starting the `guanxi` command does not load numpy, pandas and the models."""

from __future__ import annotations

from typing import Any

from guanxi.core.permissions import Actor


def scores_panel(actor: Actor, customer_id: int) -> dict[str, Any] | None:
    """The 360 page's "Value and lifecycle" panel, once the customer is scored."""
    from guanxi.analytics.selectors import customer_score_get

    score = customer_score_get(actor=actor, customer_id=customer_id)
    if score is None:
        return None
    from django.utils import timezone

    from guanxi.analytics.models import SCORING_HORIZON_DAYS
    from guanxi.customers.selectors import customer_known_since

    known = customer_known_since(actor=actor, customer_id=customer_id)
    too_new = known is not None and (timezone.now() - known).days < SCORING_HORIZON_DAYS
    return {"score": score, "too_new": too_new}


def badges_panel(actor: Actor, customer_id: int) -> dict[str, Any] | None:
    """The stage and tier badges in the 360 page's header, once the customer is scored."""
    from guanxi.analytics.selectors import customer_score_get

    score = customer_score_get(actor=actor, customer_id=customer_id, with_reasons=False)
    return {"score": score} if score is not None else None


def segment_choices(actor: Actor) -> list[tuple[int, str]]:
    """The customer list's segment filter."""
    from guanxi.analytics.selectors import segment_list

    return [(s.pk, f"{s.name} ({s.member_count})") for s in segment_list(actor=actor)]


def stage_choices(actor: Actor) -> list[tuple[str, str]]:
    from guanxi.analytics.models import Stage

    return [(str(v), str(label)) for v, label in Stage.choices]


def stage_lookups(value: str) -> dict[str, Any]:
    return {"score__stage": value}


def tier_choices(actor: Actor) -> list[tuple[str, str]]:
    from guanxi.analytics.models import Tier

    return [(str(v), str(label)) for v, label in Tier.choices]


def tier_lookups(value: str) -> dict[str, Any]:
    return {"score__tier": value}


def rescore_after_merge(customers: list[Any]) -> None:
    from guanxi.analytics.services import rescore_after_merge as rescore

    rescore(customers)


def became(event: Any) -> str:
    """A stage or tier change, in the reader's language: "Became Dormant"."""
    from django.utils.translation import gettext as _

    from guanxi.analytics.models import Stage, Tier

    choices = Stage if event.kind == "stage_changed" else Tier
    new = event.data["to"]
    label = choices(new).label if new in choices.values else new
    old = event.data.get("from")
    if old in choices.values:
        return _("%(old)s → %(new)s") % {"old": choices(old).label, "new": label}
    return _("Became %(new)s") % {"new": label}


# The workspace shell: home card and global search.

def stages_card(actor: Actor) -> dict[str, Any] | None:
    """Customers per lifecycle stage, once scored."""
    from guanxi.analytics.models import Stage
    from guanxi.analytics.selectors import score_distribution

    stages = score_distribution(actor=actor).get("stage", {})
    if not stages:
        return None
    total = sum(stages.values())
    rows = [(Stage(v).label, stages.get(v, 0), round(100 * stages.get(v, 0) / total))
            for v in Stage.values if stages.get(v)]
    return {"stages": rows, "total": total}


def active_dormant_tile(actor: Actor) -> Any:
    """Active and dormant customers (once scored), as a KPI tile."""
    from django.urls import reverse
    from django.utils import formats
    from django.utils.translation import gettext as _

    from guanxi.analytics.models import Stage
    from guanxi.analytics.selectors import score_distribution
    from guanxi.core.shell import Tile

    stages = score_distribution(actor=actor).get("stage", {})
    if not stages:
        return None
    active = stages.get(Stage.ACTIVE, 0) + stages.get(Stage.HIGH_VALUE, 0)
    dormant = stages.get(Stage.DORMANT, 0)
    total = sum(stages.values())

    def n(x: int) -> str:
        return str(formats.number_format(x, force_grouping=True))

    return Tile(f"{n(active)} / {n(dormant)}",
                hint=_("%(a)s%% active (high value included), %(d)s%% dormant")
                % {"a": round(100 * active / total), "d": round(100 * dormant / total)},
                url=reverse("analytics:overview"))


def search_segments(actor: Actor, query: str, limit: int) -> list[Any]:
    from django.urls import reverse
    from django.utils.translation import gettext as _

    from guanxi.analytics.selectors import segment_list
    from guanxi.core.shell import SearchHit

    return [SearchHit(title=s.name, detail=_("%(n)s members") % {"n": s.member_count},
                      url=reverse("analytics:segment", args=[s.pk]))
            for s in segment_list(actor=actor).filter(name__icontains=query)[:limit]]


def segment_trigger_choices() -> list[tuple[str, str]]:
    """(id, name) of every segment, for automation triggers."""
    from guanxi.analytics.selectors import segment_names

    return segment_names()


def marketing_consent_withdrawn(customer: Any, channel: str, purpose: str,
                                granted: bool) -> None:
    from guanxi.analytics.services import marketing_consent_withdrawn as leave

    leave(customer, channel, purpose, granted)
