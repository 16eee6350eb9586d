"""Reads of the analytics app."""

from __future__ import annotations

import datetime as dt
import pickle
from collections import Counter
from typing import Any

from django.db.models import Avg, Count, Min, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.analytics import segments
from guanxi.analytics.lifecycle import LifecycleConfig
from guanxi.analytics.models import (
    CustomerScore,
    ScoringRun,
    ScoringSettings,
    Segment,
    SegmentSize,
)
from guanxi.analytics.rfm import RFMConfig
from guanxi.analytics.settings import lifecycle_config, rfm_config
from guanxi.core.cursors import Page, keyset_page
from guanxi.core.errors import NotFound
from guanxi.core.permissions import Actor, require
from guanxi.customers.models import Event, Order, OrderStatus
from guanxi.customers.permissions import CustomerAction
from guanxi.customers.selectors import visible_customers

MAX_PAGE = 500
NOT_SCORED = "not_scored"


def customer_score_get(*, actor: Actor, customer_id: int,
                       with_reasons: bool = True) -> CustomerScore | None:
    """The customer's latest scores, if scored yet and visible to the actor. Churn reasons
    a large base's batch left out are computed now (unless `with_reasons` is False), with
    the models that gave the risk."""
    score = (CustomerScore.objects.filter(customer_id=customer_id,
                                          customer__in=visible_customers(actor)).first())
    if score is not None and with_reasons and score.churn_risk is not None \
            and not score.churn_reasons:
        from guanxi.analytics.scoring import reasons_for

        run = (ScoringRun.objects.filter(status="done", incremental=False,
                                         fitted__isnull=False, as_of__lte=score.scored_at)
               .order_by("-as_of").first())
        if run is not None:
            score.churn_reasons = reasons_for(customer_id, fitted_models(run),
                                              score.scored_at)
    return score


_FITTED: dict[tuple[int, dt.datetime], Any] = {}


def fitted_models(run: ScoringRun) -> Any:
    """A full run's fitted models, unpickled once per process."""
    key = (run.pk, run.started_at)
    if key not in _FITTED:
        _FITTED.clear()
        _FITTED[key] = pickle.loads(bytes(run.fitted or b""))  # noqa: S301 - our own job's
    return _FITTED[key]


def _scores(actor: Actor, stage: str, tier: str, segment_id: int | None
            ) -> QuerySet[CustomerScore]:
    qs = CustomerScore.objects.filter(customer__in=visible_customers(actor)).select_related(
        "customer")
    if stage:
        qs = qs.filter(stage=stage)
    if tier:
        qs = qs.filter(tier=tier)
    if segment_id:
        qs = qs.filter(customer__segment_memberships__segment_id=segment_id,
                       customer__segment_memberships__left_at__isnull=True)
    return qs


def score_list(*, actor: Actor, stage: str = "", tier: str = "", segment_id: int | None = None,
               cursor: str | None = None, limit: int = 100) -> Page[CustomerScore]:
    """Scores of the customers the actor may see, by customer number, a page at a time."""
    limit = max(1, min(limit, MAX_PAGE))
    qs = _scores(actor, stage, tier, segment_id)
    return keyset_page(qs, cursor=cursor, limit=limit, key="customer_id", descending=False)


def segment_count(*, actor: Actor, rules: dict[str, Any]) -> int:
    """The live count while editing: customers the actor may see who match now."""
    from guanxi.analytics.segments import compile_rules

    return visible_customers(actor).filter(compile_rules(rules)).count()


def segment_members(*, actor: Actor, segment_id: int) -> QuerySet[Any]:
    """Current members the actor may see: what messages, campaigns and exports select."""
    from guanxi.analytics.models import SegmentMembership

    return (visible_customers(actor)
            .filter(pk__in=SegmentMembership.objects.filter(
                segment_id=segment_id, left_at__isnull=True).values("customer_id")))


# --- the analytics page ---------------------------------------------------------------

def _visible_scores(actor: Actor) -> QuerySet[CustomerScore]:
    return CustomerScore.objects.filter(customer__in=visible_customers(actor))


def score_distribution(*, actor: Actor) -> dict[str, dict[str, int]]:
    """How many visible customers are in each stage, tier and RFM cell."""
    scores = _visible_scores(actor)
    out: dict[str, dict[str, int]] = {}
    for column in ("stage", "tier", "cell"):
        rows = scores.values_list(column).annotate(n=Count("pk")).order_by()
        out[column] = {value: n for value, n in rows if value}
    return out


def rfm_grid(*, actor: Actor) -> list[dict[str, Any]]:
    """Customers per (R, F) score, with their average spend in the window: the heat map."""
    rows = (_visible_scores(actor).filter(r__isnull=False).values("r", "f")
            .annotate(n=Count("pk"), spend=Avg("monetary")).order_by("r", "f"))
    return [{"r": row["r"], "f": row["f"], "customers": row["n"],
             "average_spend": float(row["spend"] or 0)} for row in rows]


def _stage_on(stages: dict[int, str], customer_id: int) -> str:
    return stages.get(customer_id, NOT_SCORED)


def stage_flows(*, actor: Actor, start: dt.datetime, end: dt.datetime
                ) -> list[tuple[str, str, int]]:
    """(stage on `start`, stage on `end`, customers) for the visible customers who existed
    on `end`, from the stage-change events on their timelines (a customer's stage on a day
    is the last change up to that day; before their first scoring they are "not scored")."""
    if start > end:
        start, end = end, start
    events = (Event.objects.filter(kind="stage_changed", occurred_at__lte=end,
                                   customer__in=visible_customers(actor))
              .order_by("customer_id", "occurred_at", "pk")
              .values_list("customer_id", "occurred_at", "data"))
    at_start: dict[int, str] = {}
    at_end: dict[int, str] = {}
    for customer_id, when, data in events.iterator(chunk_size=5000):
        stage = (data or {}).get("to") or NOT_SCORED
        if when <= start:
            at_start[customer_id] = stage
        at_end[customer_id] = stage
    flows = Counter((_stage_on(at_start, c), stage) for c, stage in at_end.items())
    return sorted(((a, b, n) for (a, b), n in flows.items()), key=lambda f: -f[2])


def cohort_retention(*, actor: Actor, months: int = 12, as_of: dt.date | None = None
                     ) -> list[dict[str, Any]]:
    """Monthly cohorts by first paid order (the last `months` of them): size, and the
    share of the cohort that bought again in each later month (month 0 is 100%)."""
    as_of = as_of or timezone.localdate()
    first_month = (as_of.replace(day=1) - dt.timedelta(days=31 * (months - 1))).replace(day=1)
    paid = Order.objects.filter(status=OrderStatus.PAID, customer__in=visible_customers(actor))
    firsts = (paid.values("customer_id").annotate(first=Min("placed_at"))
              .filter(first__date__gte=first_month))
    cohort_of = {row["customer_id"]: _month(row["first"]) for row in firsts.iterator()}
    if not cohort_of:
        return []
    active = (paid.filter(customer_id__in=firsts.values("customer_id"))
              .annotate(month=TruncMonth("placed_at")).values_list("customer_id", "month")
              .distinct())
    buyers: dict[tuple[dt.date, int], int] = Counter()
    for customer_id, month in active.iterator(chunk_size=5000):
        cohort = cohort_of.get(customer_id)
        if cohort is not None:
            offset = (month.year - cohort.year) * 12 + month.month - cohort.month
            buyers[(cohort, offset)] += 1
    sizes = Counter(cohort_of.values())
    current = as_of.replace(day=1)
    out = []
    for cohort in sorted(sizes):
        span = (current.year - cohort.year) * 12 + current.month - cohort.month
        out.append({"cohort": cohort, "customers": sizes[cohort],
                    "retention": [round(100 * buyers[(cohort, k)] / sizes[cohort], 1)
                                  for k in range(span + 1)]})
    return out


def _month(value: dt.datetime | dt.date) -> dt.date:
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value.replace(day=1)


# --- segments ------------------------------------------------------------------------

def segment_list(*, actor: Actor) -> QuerySet[Segment]:
    require(actor, CustomerAction.CUSTOMER_VIEW)
    return Segment.objects.select_related("created_by").order_by("name")


def segment_names() -> list[tuple[str, str]]:
    """(id, name) of every segment, for pickers that ask without a person (automation
    trigger settings, checked when saved by someone allowed to)."""
    return [(str(pk), name) for pk, name in Segment.objects.order_by("name")
            .values_list("pk", "name")]


def segment_get(*, actor: Actor, segment_id: int) -> Segment:
    require(actor, CustomerAction.CUSTOMER_VIEW)
    segment = Segment.objects.filter(pk=segment_id).first()
    if segment is None:
        raise NotFound(_("No such segment"))
    return segment


def segment_sizes(*, segment: Segment, limit: int = 366) -> list[SegmentSize]:
    """The size at each refresh, oldest first (the last `limit` refreshes)."""
    recent = list(segment.sizes.order_by("-at")[:limit])
    return recent[::-1]


def scoring_run_latest() -> ScoringRun | None:
    """The latest full scoring run (for its progress and figures)."""
    return ScoringRun.objects.filter(incremental=False).order_by("-started_at").first()


def scoring_settings() -> tuple[RFMConfig, LifecycleConfig]:
    """The business's RFM and lifecycle rules (the defaults until someone changes them)."""
    stored = ScoringSettings.objects.filter(pk=1).first()
    if stored is None:
        return RFMConfig(), LifecycleConfig()
    return rfm_config(stored.rfm), lifecycle_config(stored.lifecycle)


def segment_builder_fields() -> list[dict[str, Any]]:
    """What the rule builder offers: each field with its label, kind, operators and, where
    the values are known, the choices (all labels translated)."""
    from guanxi.analytics.models import Cell, Stage, Tier
    from guanxi.customers.models import Channel, Gender, Product, Source, Tag
    from guanxi.timeline.kinds import INTERNAL, SEGMENT, all_kinds

    def choices(enum: Any) -> list[list[str]]:
        return [[value, str(label)] for value, label in enum.choices if value]

    def text(key: str, label: Any, options: list[list[str]] | None = None) -> dict[str, Any]:
        return {"key": key, "label": str(label), "kind": "choice" if options else "text",
                "operators": list(segments.TEXT_OPERATORS), "choices": options or []}

    def number(key: str, label: Any, step: str = "1") -> dict[str, Any]:
        return {"key": key, "label": str(label), "kind": "number", "step": step,
                "operators": list(segments.NUMBER_OPERATORS), "choices": []}

    categories = sorted(c for c in Product.objects.exclude(category="")
                        .values_list("category", flat=True).distinct()[:500])
    kinds = [[k.name, str(k.label)] for k in all_kinds()
             if not k.has(INTERNAL) or k.has(SEGMENT)]
    return [
        text("stage", _("Lifecycle stage"), choices(Stage)),
        text("tier", _("Value tier"), choices(Tier)),
        text("cell", _("RFM cell"), choices(Cell)),
        number("r", _("R score (1–5)")), number("f", _("F score (1–5)")),
        number("m", _("M score (1–5)")),
        number("recency_days", _("Days since the last purchase")),
        number("frequency", _("Purchase days in the window")),
        number("monetary", _("Spend in the window"), "0.01"),
        number("clv", _("Expected value, next 12 months"), "0.01"),
        number("p_alive", _("Probability still active (0–1)"), "0.01"),
        number("churn_risk", _("Churn risk (0–1)"), "0.01"),
        {"key": "tag", "label": str(_("Tag")), "kind": "tag", "operators": ["has", "not_has"],
         "choices": [[t, t] for t in Tag.objects.order_by("name")
                     .values_list("name", flat=True)[:500]]},
        {"key": "bought_category", "label": str(_("Bought from a category")),
         "kind": "within", "inner": "category", "operators": ["within_days"],
         "choices": [[c, c] for c in categories]},
        {"key": "event", "label": str(_("Did something (timeline event)")), "kind": "within",
         "inner": "kind", "operators": ["within_days"], "choices": kinds},
        text("region", _("Region")),
        text("gender", _("Gender"), choices(Gender)),
        text("source", _("Source"), choices(Source)),
        text("preferred_channel", _("Preferred channel"), choices(Channel)),
        text("occupation", _("Occupation")),
    ]


def segment_operator_labels() -> dict[str, str]:
    return {"equals": str(_("is")), "not_equals": str(_("is not")),
            "in": str(_("is one of")), "contains": str(_("contains")),
            "gte": str(_("at least")), "lte": str(_("at most")),
            "has": str(_("has")), "not_has": str(_("does not have")),
            "within_days": str(_("in the last N days"))}
