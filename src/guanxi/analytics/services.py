"""Scoring: RFM, value tier, lifecycle stage and lifetime value for every customer, with
a timeline event for each change of stage or tier (so automation can react to it)."""

from __future__ import annotations

import datetime as dt
import json
import os
import pickle
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.db.models import F, Max, Min, ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.analytics.lifecycle import LifecycleConfig
from guanxi.analytics.models import (
    RunStatus,
    ScoringRun,
    ScoringSettings,
    Segment,
    SegmentMembership,
    SegmentSize,
)
from guanxi.analytics.permissions import AnalyticsAction
from guanxi.analytics.rfm import RFMConfig
from guanxi.analytics.segments import compile_rules
from guanxi.analytics.settings import config_dict, lifecycle_config, rfm_config
from guanxi.audit.services import log_action
from guanxi.core.errors import Conflict, InvalidInput
from guanxi.core.frames import upsert_frame
from guanxi.core.models import WorkItem, WorkState
from guanxi.core.permissions import Actor, require, staff
from guanxi.core.spreadsheet import safe_cell
from guanxi.core.work import work_enqueue
from guanxi.customers.models import Consent, ConsentPurpose, Customer, Order, OrderStatus
from guanxi.customers.permissions import CustomerAction
from guanxi.timeline.services import NewEvent, events_append_many

RANGE_SIZE = 250_000        # customers per range (one unit of work for a process)
POOL_MIN_CUSTOMERS = 200_000  # below this, ranges are read in this process


def _configs(rfm: RFMConfig | None, lifecycle: LifecycleConfig | None
             ) -> tuple[RFMConfig, LifecycleConfig]:
    from guanxi.analytics.selectors import scoring_settings

    stored_rfm, stored_lifecycle = scoring_settings()
    return rfm or stored_rfm, lifecycle or stored_lifecycle


def _ranges(size: int) -> list[tuple[int, int]]:
    bounds = Customer.objects.aggregate(lo=Min("pk"), hi=Max("pk"))
    if bounds["lo"] is None:
        return []
    return [(lo, min(lo + size, bounds["hi"] + 1))
            for lo in range(bounds["lo"], bounds["hi"] + 1, size)]


def _progress(run: ScoringRun, step: str, done: int,
              progress: Callable[[str, int, int], None] | None = None) -> None:
    """Record how far a run is (the page polls it); tell `progress` too (a CLI bar)."""
    run.step, run.done, run.heartbeat_at = step, done, timezone.now()
    ScoringRun.objects.filter(pk=run.pk).update(step=step, done=done,
                                                 heartbeat_at=run.heartbeat_at)
    if progress is not None:
        progress(str(step), done, run.total)


SCORING_QUEUE = "analytics.scoring"
RESCORE_QUEUE = "analytics.rescore"


def _scoring_active() -> bool:
    return WorkItem.objects.filter(queue=SCORING_QUEUE,
                                   state__in=[WorkState.QUEUED, WorkState.RUNNING]).exists()


def scores_start(*, actor: Actor) -> ScoringRun:
    """Start a full scoring run in the worker (the page follows its progress)."""
    require(actor, AnalyticsAction.SCORING_CONFIGURE)
    if _scoring_active():
        raise Conflict(_("A scoring run is already running."))
    with transaction.atomic():
        run = ScoringRun.objects.create(as_of=timezone.now(), started_by=staff(actor),
                                        step=_("waiting for the worker"))
        log_action(actor=actor, action="analytics.scores_start", obj=run)
        work_enqueue(SCORING_QUEUE, {"run_id": run.pk})
    return run


def scores_nightly_enqueue(day: dt.date) -> WorkItem:
    """The nightly run, once per day however many schedulers ask (idempotency key)."""
    return work_enqueue(SCORING_QUEUE, {"nightly": day.isoformat()},
                        key=f"analytics.nightly:{day.isoformat()}")


def scoring_work(item: WorkItem, ctx: Any) -> dict[str, Any]:
    """A claimed work item runs a full scoring (then every segment). Taken over after a
    dead worker, the same run starts again from the orders (scores are recomputed)."""
    run_id = item.payload.get("run_id")
    if run_id is None:  # nightly: the run row is made once, on the first attempt
        run = ScoringRun.objects.create(as_of=timezone.now())
        WorkItem.objects.filter(pk=item.pk).update(payload={**item.payload, "run_id": run.pk})
    else:
        run = ScoringRun.objects.select_related("started_by").get(pk=run_id)
        ScoringRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, error="")

    def progress(step: str, done: int, total: int) -> None:
        ctx.progress(done, total)

    summary = scores_refresh(actor=run.started_by, run=run, progress=progress)
    segments_refresh_all()
    return summary


def scoring_work_dead(item: WorkItem, reason: str) -> None:
    run_id = item.payload.get("run_id")
    if run_id is not None:
        ScoringRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
            status=RunStatus.FAILED, finished_at=timezone.now(), error=reason[:2000])


def rescore_work(item: WorkItem, ctx: Any) -> dict[str, Any]:
    return {"customers": scores_refresh_customers(customer_ids=item.payload["customer_ids"])}


def scores_refresh(*, actor: Actor = None, as_of: dt.datetime | None = None,
                   rfm: RFMConfig | None = None, lifecycle: LifecycleConfig | None = None,
                   run: ScoringRun | None = None, processes: int | None = None,
                   progress: Callable[[str, int, int], None] | None = None
                   ) -> dict[str, Any]:
    """Score every customer as of `as_of` (now by default). System job: runs nightly and
    on demand. Customers are read one id range at a time, by several worker processes
    when there are many, which keep the facts; the models are fitted once, here, on what
    they send back; then each worker scores its ranges and writes the scores and a
    timeline event for every change of stage or tier. One audit entry at the end."""
    from guanxi.analytics.scoring import CHURN_SAMPLE, RangeWorkers, fit_models, sample_counts

    started = time.perf_counter()
    as_of = pd.Timestamp(as_of).to_pydatetime() if as_of is not None else timezone.now()
    rfm, lifecycle = _configs(rfm, lifecycle)
    if run is None:
        run = ScoringRun.objects.create(as_of=as_of, started_by=staff(actor))
    else:
        ScoringRun.objects.filter(pk=run.pk).update(as_of=as_of)
    try:
        ranges = _ranges(RANGE_SIZE)
        run.total = 2 * len(ranges) + 1
        ScoringRun.objects.filter(pk=run.pk).update(total=run.total)
        timings: dict[str, float] = {}
        clock = time.perf_counter()
        customers = Customer.objects.count()
        workers = (processes if processes is not None
                   else (os.cpu_count() or 1) if customers >= POOL_MIN_CUSTOMERS else 1)
        fitted = None
        scored = changed = last_order = 0
        with RangeWorkers(ranges, as_of, rfm.window_days, lifecycle.window_days,
                          workers) as pool:
            workers = pool.processes
            previous = _last_fitted()  # while the workers read
            reads = []
            for done, read in enumerate(pool.read(), start=1):
                reads.append(read)
                _progress(run, _("reading orders and events"), done, progress)
            timings["read_s"] = time.perf_counter() - clock
            clock = time.perf_counter()
            if reads:
                _progress(run, _("fitting the models"), len(ranges), progress)
                reads.sort(key=lambda r: r.lo)
                samples = pool.sample(sample_counts(reads, CHURN_SAMPLE, seed=7), seed=7)
                fitted = fit_models(pd.concat([r.extract for r in reads]), samples["train"],
                                    samples["test"], as_of.timestamp(), rfm, lifecycle,
                                    previous=previous)
                del reads
                timings["fit_s"] = time.perf_counter() - clock
                clock = time.perf_counter()
                for i, part in enumerate(pool.score(fitted, _write_scores), start=1):
                    scored += part.customers
                    changed += part.changed
                    last_order = max(last_order, part.last_order_id)
                    _progress(run, _("writing scores"), len(ranges) + 1 + i, progress)
                timings["score_s"] = time.perf_counter() - clock
        clock = time.perf_counter()
        _vacuum_scores()
        timings["vacuum_s"] = time.perf_counter() - clock
        figures = {**(fitted.figures if fitted else {}), "processes": workers,
                   "ranges": len(ranges),
                   **{k: round(v, 2) for k, v in timings.items()},
                   "seconds": round(time.perf_counter() - started, 2)}
        summary = {"customers": scored, "changed": changed,
                   "forecast": int(fitted is not None and fitted.purchases is not None),
                   **figures}
        ScoringRun.objects.filter(pk=run.pk).update(
            status=RunStatus.DONE, finished_at=timezone.now(), customers=scored,
            changed=changed, figures=figures, last_order_id=last_order,
            fitted=pickle.dumps(fitted) if fitted is not None else None,
            step="", done=run.total)
        log_action(actor=actor, action="analytics.scores_refresh", object_type="analytics",
                   extra=summary)
    except Exception as exc:
        ScoringRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, finished_at=timezone.now(), error=str(exc)[:2000])
        raise
    return summary


def _vacuum_scores() -> None:
    """PostgreSQL: every score was just rewritten; clear the old row versions now so the
    next run's rewrite fits in the pages again (HOT updates) instead of waiting for
    autovacuum. Not possible (nor needed) inside an outer transaction."""
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) analytics_customerscore")


def scores_refresh_changed(*, as_of: dt.datetime | None = None, batch: int = 20_000
                           ) -> dict[str, int]:
    """Incremental scoring (every few minutes): customers with paid orders newer than the
    last run are scored again with the last full run's models, so a first purchase shows
    up as a stage and a value long before the nightly run."""
    full = _last_full_run()
    if full is None:
        return {"customers": 0, "changed": 0}
    since = (ScoringRun.objects.filter(status=RunStatus.DONE, started_at__gte=full.started_at)
             .aggregate(m=Max("last_order_id"))["m"] or 0)
    ids = sorted(set(Order.objects.filter(pk__gt=since, status=OrderStatus.PAID)
                     .values_list("customer_id", flat=True)))
    if not ids:
        return {"customers": 0, "changed": 0}
    as_of = as_of or timezone.now()
    run = ScoringRun.objects.create(as_of=as_of, incremental=True, total=len(ids))
    changed, last_order = _rescore(ids, _last_fitted(), as_of, batch)
    ScoringRun.objects.filter(pk=run.pk).update(
        status=RunStatus.DONE, finished_at=timezone.now(), customers=len(ids),
        changed=changed, done=len(ids), last_order_id=max(last_order, since))
    return {"customers": len(ids), "changed": changed}


def _rescore(ids: list[int], fitted: Any, as_of: dt.datetime, batch: int = 20_000
             ) -> tuple[int, int]:
    """Score these customers again with the given models; returns (changes, last order
    id read)."""
    from guanxi.analytics.scoring import apply_models, range_facts, read_range

    changed = last_order = 0
    for start in range(0, len(ids), batch):
        data = read_range(0, 0, as_of, ids=ids[start:start + batch])
        facts = range_facts(data, as_of.timestamp(), fitted.rfm.window_days,
                            fitted.lifecycle.window_days)
        scores = apply_models(facts, fitted, as_of.timestamp())
        changed += _write_scores(scores, data.previous, as_of)
        last_order = max(last_order, data.last_order_id)
    return changed, last_order


def scores_refresh_customers(*, customer_ids: list[int]) -> int:
    """Score some customers again with the last full run's models (after a merge or its
    undo changed whose orders they are); nothing before the first full run."""
    fitted = _last_fitted()
    ids = sorted(set(Customer.objects.filter(pk__in=customer_ids).values_list("pk", flat=True)))
    if fitted is None or not ids:
        return 0
    return _rescore(ids, fitted, timezone.now())[0]


def rescore_after_merge(customers: list[Any]) -> None:
    """Merge rule hook: the merged customers are scored again once the merge commits."""
    work_enqueue(RESCORE_QUEUE, {"customer_ids": [c.pk for c in customers]})


def _last_full_run() -> ScoringRun | None:
    return (ScoringRun.objects.filter(status=RunStatus.DONE, incremental=False,
                                      fitted__isnull=False).order_by("-started_at").first())


def _last_fitted() -> Any:
    """The models of the last full run (None before the first)."""
    from guanxi.analytics.selectors import fitted_models

    run = _last_full_run()
    return fitted_models(run) if run is not None else None


SCORE_COLUMNS = ("customer_id", "scored_at", "recency_days", "frequency", "monetary", "r",
                 "f", "m", "tier", "cell", "stage", "expected_purchases", "p_alive", "clv",
                 "churn_risk", "churn_reasons")


def _write_scores(scores: pd.DataFrame, previous: dict[int, tuple[str, str]],
                  as_of: dt.datetime) -> int:
    """Upsert the scores of one range and add a timeline event for each change of stage
    or tier; returns the number of changes."""
    ids = scores.index.to_numpy(dtype=np.int64).tolist()
    when = connection.ops.adapt_datetimefield_value(as_of)
    stage, tier = scores["stage"].tolist(), scores["tier"].tolist()
    frame = pd.DataFrame({
        "customer_id": scores.index.to_numpy(dtype=np.int64), "scored_at": str(when),
        "recency_days": scores["recency_days"].astype(float),
        "frequency": scores["frequency"].astype(np.int64),
        "monetary": scores["monetary"].astype(float).round(2),
        **{dim: scores[dim].astype("Int64") for dim in ("r", "f", "m")},
        "tier": tier, "cell": scores["cell"], "stage": stage,
        **{col: scores[col].astype(float)
           for col in ("expected_purchases", "p_alive", "clv", "churn_risk")},
        "churn_reasons": [json.dumps(r) if r else "[]" for r in scores["churn_reasons"]],
    }, columns=list(SCORE_COLUMNS))
    events = []
    for customer_id, new_stage, new_tier in zip(ids, stage, tier, strict=True):
        old_stage, old_tier = previous.get(customer_id, (None, None))
        for kind, old, new in (("stage_changed", old_stage, new_stage),
                               ("tier_changed", old_tier, new_tier)):
            if old != new:
                events.append(NewEvent(customer_id=customer_id, kind=kind, occurred_at=as_of,
                                       source="guanxi", data={"from": old, "to": new}))
    # Scores are recomputed from the orders at every run: a crash losing the last moment's
    # commits costs nothing, so the commit does not wait for the WAL flush (only when this
    # is the whole transaction: the setting lasts until the outermost one ends).
    asynchronous = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic():
        if asynchronous:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
        upsert_frame("analytics_customerscore", frame, conflict=("customer_id",))
        events_append_many(events)
    return len(events)


EXPORT_COLUMNS = ("customer_id", "display_name", "stage", "tier", "rfm_cell", "r", "f", "m",
                  "recency_days", "frequency", "monetary", "expected_purchases_90d",
                  "p_alive", "clv_12m", "churn_risk_90d", "scored_at")


def scores_export(*, actor: Actor, stage: str = "", tier: str = "",
                  segment_id: int | None = None) -> Iterator[list[str]]:
    """Header, then one row per visible scored customer, a page at a time; audited before
    the first row leaves, formula-like cells neutralised."""
    from guanxi.analytics.selectors import score_list

    require(actor, CustomerAction.CUSTOMER_EXPORT)
    log_action(actor=actor, action="analytics.scores_export", object_type="analytics",
               extra={"stage": stage, "tier": tier, "segment_id": segment_id})
    yield list(EXPORT_COLUMNS)
    cursor: str | None = None
    while True:
        page = score_list(actor=actor, stage=stage, tier=tier, segment_id=segment_id,
                          cursor=cursor, limit=500)
        for s in page.items:
            yield [safe_cell("" if v is None else v) for v in (
                s.customer_id, s.customer.display_name, s.stage, s.tier, s.cell, s.r, s.f,
                s.m, s.recency_days, s.frequency, s.monetary, s.expected_purchases,
                s.p_alive, s.clv, s.churn_risk, s.scored_at.isoformat())]
        if not page.next_cursor:
            return
        cursor = page.next_cursor


def segment_save(*, actor: Actor, name: str, rules: dict[str, Any],
                 segment: Segment | None = None, purpose: str | None = None) -> Segment:
    """Create or change a segment (rules validated), then materialise its members.
    `purpose` "marketing" makes it a marketing audience (consented customers only); None
    keeps the segment's purpose (general for a new one)."""
    require(actor, AnalyticsAction.SEGMENT_MANAGE)
    compile_rules(rules)
    if purpose is not None and purpose not in Segment.Purpose.values:
        raise InvalidInput.single("purpose", _("Unknown purpose"), purpose)
    clean = " ".join(name.split())[:100]
    if not clean:
        raise InvalidInput.single("name", _("A segment needs a name"), name)
    taken = Segment.objects.filter(name=clean)
    if segment is not None:
        taken = taken.exclude(pk=segment.pk)
    if taken.exists():
        raise InvalidInput.single("name", _("Another segment has this name"), clean)
    with transaction.atomic():
        if segment is None:
            segment = Segment.objects.create(name=clean, rules=rules, created_by=staff(actor),
                                             purpose=purpose or "")
            log_action(actor=actor, action="segment.create", obj=segment,
                       changes={"name": [None, clean], "purpose": [None, segment.purpose]})
        else:
            before = {"name": segment.name, "rules": segment.rules, "purpose": segment.purpose}
            new_purpose = segment.purpose if purpose is None else purpose
            segment.name, segment.rules, segment.purpose = clean, rules, new_purpose
            segment.save(update_fields=["name", "rules", "purpose"])
            log_action(actor=actor, action="segment.update", obj=segment,
                       changes={k: [before[k], v] for k, v in
                                (("name", clean), ("rules", rules), ("purpose", new_purpose))
                                if before[k] != v})
        segment_refresh(segment=segment)
    return segment


def segment_audience(segment: Segment) -> Any:
    """The customers the segment's rules select now: never an erased person, and for a
    marketing audience only those who agree to marketing on some channel."""
    qs = Customer.objects.filter(compile_rules(segment.rules), erased_at__isnull=True)
    if segment.purpose == Segment.Purpose.MARKETING:
        qs = qs.filter(pk__in=Consent.objects.filter(
            purpose=ConsentPurpose.MARKETING, granted=True).values("customer_id"))
    return qs


def marketing_consent_withdrawn(customer: Any, channel: str, purpose: str,
                                granted: bool) -> None:
    """Consent hook: a customer who no longer agrees to marketing on any channel leaves
    every marketing audience now (not at the next refresh)."""
    if purpose != ConsentPurpose.MARKETING or granted:
        return
    if Consent.objects.filter(customer=customer, purpose=ConsentPurpose.MARKETING,
                              granted=True).exists():
        return
    now = timezone.now()
    memberships = SegmentMembership.objects.filter(
        customer=customer, left_at__isnull=True, segment__purpose=Segment.Purpose.MARKETING)
    segment_ids = list(memberships.values_list("segment_id", flat=True))
    if segment_ids:
        memberships.update(left_at=now)
        Segment.objects.filter(pk__in=segment_ids).update(member_count=F("member_count") - 1)


def segment_refresh(*, segment: Segment) -> SegmentSize:
    """System job: recompute the members (all customers, not one user's view), close the
    memberships of those who left, open them for those who joined, record the size."""
    now = timezone.now()
    with transaction.atomic():
        wanted = set(segment_audience(segment).values_list("pk", flat=True))
        current = set(SegmentMembership.objects.filter(segment=segment, left_at__isnull=True)
                      .values_list("customer_id", flat=True))
        joined, left = wanted - current, current - wanted
        SegmentMembership.objects.filter(segment=segment, left_at__isnull=True,
                                         customer_id__in=left).update(left_at=now)
        SegmentMembership.objects.bulk_create(
            [SegmentMembership(segment=segment, customer_id=pk, joined_at=now)
             for pk in joined], batch_size=1000)
        segment.member_count, segment.refreshed_at = len(wanted), now
        segment.save(update_fields=["member_count", "refreshed_at"])
        return SegmentSize.objects.create(segment=segment, at=now, members=len(wanted),
                                          joined=len(joined), left=len(left))


def segment_refresh_now(*, actor: Actor, segment: Segment) -> SegmentSize:
    """A user asked for fresh members now (normally nightly, after scoring)."""
    require(actor, AnalyticsAction.SEGMENT_MANAGE)
    size = segment_refresh(segment=segment)
    log_action(actor=actor, action="segment.refresh", obj=segment,
               extra={"members": size.members, "joined": size.joined, "left": size.left})
    return size


def segment_delete(*, actor: Actor, segment: Segment) -> None:
    require(actor, AnalyticsAction.SEGMENT_MANAGE)
    try:
        with transaction.atomic():
            log_action(actor=actor, action="segment.delete", obj=segment,
                       changes={"name": [segment.name, None], "rules": [segment.rules, None]})
            segment.delete()
    except ProtectedError as exc:  # an upper app's rows use it (a campaign's audience)
        users = ", ".join(sorted({str(o) for o in exc.protected_objects})[:5])
        raise Conflict(_("The segment is still used by: %(users)s") % {"users": users},
                       field_name="segment") from exc


def scoring_settings_save(*, actor: Actor, rfm: dict[str, Any], lifecycle: dict[str, Any]
                          ) -> ScoringSettings:
    """Change the RFM and lifecycle rules (each value checked, errors name the setting);
    they apply from the next scoring run."""
    require(actor, AnalyticsAction.SCORING_CONFIGURE)
    errors = []
    configs: list[Any] = []
    for parse, data in ((rfm_config, rfm), (lifecycle_config, lifecycle)):
        try:
            configs.append(parse(data))
        except InvalidInput as exc:
            errors.extend(exc.errors)
    if errors:
        raise InvalidInput(errors)
    new_rfm, new_lifecycle = (config_dict(c) for c in configs)
    with transaction.atomic():
        stored, _created = ScoringSettings.objects.select_for_update().get_or_create(pk=1)
        changes = {key: [old, new] for key, old, new in (
            ("rfm", stored.rfm, new_rfm), ("lifecycle", stored.lifecycle, new_lifecycle))
            if old != new}
        stored.rfm, stored.lifecycle = new_rfm, new_lifecycle
        stored.updated_at, stored.updated_by = timezone.now(), staff(actor)
        stored.save()
        log_action(actor=actor, action="analytics.settings", object_type="analytics",
                   changes=changes)
    return stored


DEMO_SEGMENTS = (
    ("沉睡的重要客户 · Dormant, high spend", {"op": "and", "rules": [
        {"field": "stage", "operator": "in", "value": ["dormant", "churned"]},
        {"field": "m", "operator": "gte", "value": 4}]}),
    ("高流失风险 · High churn risk", {"field": "churn_risk", "operator": "gte",
                                       "value": 0.6}),
    ("近90天买过茶叶 · Bought tea in 90 days", {
        "field": "bought_category", "operator": "within_days",
        "value": {"category": "茶叶", "days": 90}}),
)


def demo_segments(*, actor: Actor) -> int:
    """Example segments for the demo data (skipped when one of that name exists)."""
    made = 0
    for name, rules in DEMO_SEGMENTS:
        if not Segment.objects.filter(name=name).exists():
            segment_save(actor=actor, name=name, rules=rules)
            made += 1
    return made


def segments_refresh_all() -> int:
    for segment in Segment.objects.all():
        segment_refresh(segment=segment)
    return Segment.objects.count()
