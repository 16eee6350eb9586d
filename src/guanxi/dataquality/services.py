"""Writes of the data-quality app: merging customers, undoing a merge, deciding review
pairs, and running identity resolution over the customer table."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core import serializers
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.audit.services import diff, log_action
from guanxi.core.errors import Conflict, InvalidInput, NotFound
from guanxi.core.models import WorkItem, WorkState
from guanxi.core.permissions import Actor, require, staff
from guanxi.core.work import LeaseLost, work_enqueue
from guanxi.customers.hooks import run_after_change
from guanxi.customers.merging import MergeRule, Strategy, customer_foreign_keys, merge_rules
from guanxi.customers.models import Customer, Identity
from guanxi.customers.selectors import customer_is_visible
from guanxi.customers.services import event_record, refresh_search_terms
from guanxi.dataquality.models import (
    JobStatus,
    MatchCandidate,
    MatchStatus,
    Merge,
    ResolutionRun,
    TagRule,
)
from guanxi.dataquality.permissions import DataAction

logger = logging.getLogger(__name__)

# Profile fields that survivorship fills; the first non-empty value in rank order wins.
SURVIVING_FIELDS = ("family_name", "given_name", "display_name", "gender", "birthday",
                    "lunar_birthday", "region", "occupation", "preferred_language",
                    "preferred_channel", "owner_id", "company_id", "source")
EMPTY: tuple[object, ...] = (None, "", "unknown", {}, False)
# No progress from a resolution run for this long means its worker is gone.


def _rows(model: type[models.Model], **filters: Any) -> list[dict[str, Any]]:
    return json.loads(serializers.serialize("json", model._default_manager.filter(**filters)))


def _restore(rows: list[dict[str, Any]]) -> None:
    for obj in serializers.deserialize("json", json.dumps(rows)):
        obj.save()


def _apply_rules(rules: list[MergeRule], survivor: Customer, absorbed: Customer,
                 snapshot: dict[str, Any]) -> None:
    """Each foreign key to Customer follows its registered rule; what is removed is kept
    in the snapshot (once, even when a row points at the customer twice), what moves is
    listed by id, so the undo can put both back."""
    removed: dict[tuple[str, Any], dict[str, Any]] = {}

    def remove(model: type[models.Model], qs: models.QuerySet[Any]) -> None:
        for row in _rows(model, pk__in=list(qs.values_list("pk", flat=True))):
            removed[(row["model"], row["pk"])] = row
        qs.delete()

    for rule in rules:
        model, name = rule.model, rule.field
        manager = model._default_manager
        if rule.strategy is Strategy.IGNORE:
            continue
        if rule.strategy is Strategy.FOLD and rule.fold is not None:
            rule.fold(survivor, absorbed)
            continue
        if rule.strategy is Strategy.REMOVE:
            remove(model, manager.filter(**{name: absorbed}))
            continue
        if rule.strategy in (Strategy.KEEP_NEWER, Strategy.KEEP_SURVIVOR):
            scope = rule.conflict_filter or models.Q()
            mine = {tuple(getattr(r, k) for k in rule.key): r
                    for r in manager.filter(scope, **{name: survivor})}
            losers = []
            for row in manager.filter(scope, **{name: absorbed}):
                other = mine.get(tuple(getattr(row, k) for k in rule.key))
                if other is None:
                    continue
                if (rule.strategy is Strategy.KEEP_NEWER
                        and getattr(row, rule.time_field) > getattr(other, rule.time_field)):
                    losers.append(other.pk)
                else:
                    losers.append(row.pk)
            if losers:
                remove(model, manager.filter(pk__in=losers))
        ids = list(manager.filter(**{name: absorbed}).values_list("pk", flat=True))
        if ids:
            manager.filter(pk__in=ids).update(**{name: survivor})
            snapshot["moved"][rule.label] = ids
    snapshot["removed"].extend(removed.values())


def _targets_exist(row: dict[str, Any]) -> bool:
    """A removed row comes back only if the customers it points at still exist (a pair
    with a third customer who was merged away since stays gone)."""
    from django.apps import apps

    model = apps.get_model(row["model"])
    ids = [row["pk"] if fk.primary_key else row["fields"].get(fk.name)
           for fk in customer_foreign_keys() if fk.model is model]
    ids = [i for i in ids if i is not None]
    return Customer.objects.filter(pk__in=ids).count() == len(set(ids))


def _run_after_rules(rules: list[MergeRule], customers: list[Customer]) -> None:
    for after in dict.fromkeys(r.after for r in rules if r.after is not None):
        after(customers)


def _source_rank(source: str) -> int:
    order = list(getattr(settings, "GUANXI_SOURCE_PRIORITY", ()))
    return len(order) - order.index(source) if source in order else 0


def _rank(customer: Customer) -> tuple[int, int, int, Any]:
    """Survivorship: verified identities, then completeness, source priority, recency."""
    verified = customer.identities.filter(verified=True).count()
    filled = sum(1 for f in SURVIVING_FIELDS if getattr(customer, f) not in EMPTY)
    return (verified, filled, _source_rank(customer.source), customer.updated_at)


def customers_merge(*, actor: Actor, survivor: Customer, absorbed: Customer,
                    probability: float | None = None, automatic: bool = False) -> Merge:
    """Fold `absorbed` into `survivor`: every identity, address, order, event, tag and
    consent is kept; profile gaps are filled by survivorship rules; undo restores all."""
    require(actor, DataAction.CUSTOMER_MERGE)
    if survivor.pk == absorbed.pk:
        raise InvalidInput.single("customer", _("A customer cannot be merged with itself"))
    for c in (survivor, absorbed):
        if not customer_is_visible(actor, c):
            raise NotFound(_("Customer not found"))
    rules = merge_rules()  # before anything is written: a model without a rule stops it
    with transaction.atomic():
        # Both rows locked in one order (no deadlock between two merges of the pair);
        # a customer that a concurrent merge absorbed is gone when the lock is granted.
        locked = {c.pk: c for c in Customer.objects.select_for_update()
                  .filter(pk__in=sorted([survivor.pk, absorbed.pk])).order_by("pk")}
        if len(locked) < 2:
            raise Conflict(_("One of these customers was merged or deleted in the meantime; "
                             "reload the page"))
        survivor, absorbed = locked[survivor.pk], locked[absorbed.pk]
        snapshot: dict[str, Any] = {
            "survivor": _rows(Customer, pk=survivor.pk)[0],
            "absorbed": _rows(Customer, pk=absorbed.pk)[0],
            "moved": {}, "removed": [],
        }
        # Survivorship: fill the kept record field by field from the better-ranked one.
        ranked = sorted([survivor, absorbed], key=_rank, reverse=True)
        changed: dict[str, list[Any]] = {}
        for name in SURVIVING_FIELDS:
            best = next((getattr(c, name) for c in ranked if getattr(c, name) not in EMPTY),
                        getattr(survivor, name))
            if best != getattr(survivor, name):
                changed[name] = [getattr(survivor, name), best]
                setattr(survivor, name, best)
        if absorbed.attributes:
            attributes = {**absorbed.attributes, **survivor.attributes}
            if attributes != survivor.attributes:
                changed["attributes"] = [survivor.attributes, attributes]
                survivor.attributes = attributes
        # One primary contact per kind: the kept customer's stays primary.
        primary_kinds = set(Identity.objects.filter(customer=survivor, is_primary=True)
                            .values_list("kind", flat=True))
        demoted = list(Identity.objects.filter(customer=absorbed, is_primary=True,
                                               kind__in=primary_kinds)
                       .values_list("pk", flat=True))
        Identity.objects.filter(pk__in=demoted).update(is_primary=False)
        snapshot["demoted"] = demoted
        candidate = MatchCandidate.objects.filter(
            left_id=min(survivor.pk, absorbed.pk), right_id=max(survivor.pk, absorbed.pk)
        ).first()
        if candidate is not None:
            snapshot["candidate"] = _rows(MatchCandidate, pk=candidate.pk)[0]
        _apply_rules(rules, survivor, absorbed, snapshot)
        merge = Merge.objects.create(
            survivor=survivor, survivor_number=survivor.pk, absorbed_number=absorbed.pk,
            absorbed_name=absorbed.display_name, probability=probability,
            automatic=automatic, snapshot=snapshot,
            merged_by=staff(actor))
        absorbed_pk, absorbed_name = absorbed.pk, absorbed.display_name
        absorbed.delete()  # every row of it has moved or been removed by its rule
        survivor.version += 1  # a form or client that read it before must not overwrite
        survivor.save()
        refresh_search_terms(survivor)
        run_after_change(survivor)
        _run_after_rules(rules, [survivor])
        event_record(customer=survivor, kind="customer_merged", actor=actor,
                     data={"merge_id": merge.pk, "absorbed": absorbed_pk,
                           "other": absorbed_pk, "name": absorbed_name,
                           "automatic": automatic, "fields": sorted(changed)})
        log_action(actor=actor, action="customer.merge", obj=survivor,
                   changes=changed, extra={"merge_id": merge.pk, "absorbed": absorbed_pk,
                                           "automatic": automatic,
                                           "probability": probability,
                                           "moved": {k: len(v) for k, v in
                                                     snapshot["moved"].items()}})
    return merge


def merge_undo(*, actor: Actor, merge: Merge) -> Customer:
    """Unmerge: the absorbed customer comes back with its own number, fields and rows;
    the kept customer's fields return to what they were before the merge."""
    require(actor, DataAction.CUSTOMER_MERGE)
    with transaction.atomic():
        merge = Merge.objects.select_for_update().get(pk=merge.pk)
        if merge.undone_at is not None:
            raise Conflict(_("This merge was already undone"))
        if merge.survivor_id is None:
            raise Conflict(_("The kept customer was deleted since; the merge cannot be "
                             "undone"))
        if Customer.objects.filter(pk=merge.absorbed_number).exists():
            raise Conflict(_("Customer #%(id)s exists again") % {"id": merge.absorbed_number})
        snap = merge.snapshot
        _restore([snap["absorbed"]])
        restored = Customer.objects.get(pk=merge.absorbed_number)
        for label, ids in snap["moved"].items():
            model_label, field_name = label.rsplit(".", 1)
            from django.apps import apps

            model = apps.get_model(model_label)
            model._default_manager.filter(pk__in=ids).update(**{field_name: restored})
        _restore([row for row in snap["removed"] if _targets_exist(row)])
        Identity.objects.filter(pk__in=snap.get("demoted", [])).update(is_primary=True)
        survivor = Customer.objects.get(pk=merge.survivor_id)
        before = snap["survivor"]["fields"]
        changed = {}
        for name in (*SURVIVING_FIELDS, "attributes"):
            field = name[:-3] if name.endswith("_id") else name
            old_value = before.get(field)
            current = getattr(survivor, name)
            if name == "birthday" and current is not None:
                current = current.isoformat()
            if current != old_value:
                changed[name] = [current, old_value]
        if changed:
            # Deserialising the stored row restores the old values with their types.
            old = next(serializers.deserialize("json", json.dumps([snap["survivor"]])))
            for name in changed:
                setattr(survivor, name, getattr(old.object, name))
            survivor.version += 1
            survivor.save(update_fields=[*changed, "version", "updated_at"])
        if "candidate" in snap:
            candidate = snap["candidate"]
            candidate["fields"]["status"] = MatchStatus.DISTINCT
            candidate["fields"]["decided_at"] = timezone.now().isoformat()
            candidate["fields"]["decided_by"] = getattr(actor, "pk", None)
            _restore([candidate])
        merge.undone_at = timezone.now()
        merge.undone_by = staff(actor)
        merge.save(update_fields=["undone_at", "undone_by"])
        for customer in (survivor, restored):
            refresh_search_terms(customer)
            run_after_change(customer)
        _run_after_rules(merge_rules(), [survivor, restored])
        for customer, other in ((survivor, restored), (restored, survivor)):
            event_record(customer=customer, kind="customer_unmerged", actor=actor,
                         data={"merge_id": merge.pk, "other": other.pk,
                               "name": other.display_name})
        log_action(actor=actor, action="customer.unmerge", obj=restored,
                   changes=changed, extra={"merge_id": merge.pk, "survivor": survivor.pk})
    return restored


def candidate_decide(*, actor: Actor, candidate: MatchCandidate, same_person: bool,
                     survivor_id: int | None = None) -> Merge | None:
    """A reviewer's answer: merge the pair, or remember they are different people."""
    require(actor, DataAction.CUSTOMER_MERGE)
    if candidate.status != MatchStatus.PENDING:
        raise Conflict(_("This pair was already decided"))
    if not same_person:
        with transaction.atomic():
            candidate.status = MatchStatus.DISTINCT
            candidate.decided_at = timezone.now()
            candidate.decided_by = staff(actor)
            candidate.save(update_fields=["status", "decided_at", "decided_by"])
            log_action(actor=actor, action="customer.not_duplicate", obj=candidate,
                       customer_id=candidate.left_id,
                       extra={"left": candidate.left_id, "right": candidate.right_id})
        return None
    left, right = candidate.left, candidate.right
    if survivor_id not in (None, left.pk, right.pk):
        raise InvalidInput.single("survivor", _("Keep one of the two customers"), survivor_id)
    survivor, absorbed = (right, left) if survivor_id == right.pk else (left, right)
    with transaction.atomic():
        candidate.status = MatchStatus.MERGED
        candidate.decided_at = timezone.now()
        candidate.decided_by = staff(actor)
        candidate.save(update_fields=["status", "decided_at", "decided_by"])
        return customers_merge(actor=actor, survivor=survivor, absorbed=absorbed,
                               probability=candidate.probability)


# --- identity resolution over the customer table -------------------------------------

def _explanation(row: Any, fields: list[str]) -> list[dict[str, Any]]:
    out = []
    for name in fields:
        weight = row.get(f"mw_{name}")
        if weight is None or (isinstance(weight, float) and math.isnan(weight)):
            continue
        tf = row.get(f"mw_tf_adj_{name}") or 0.0
        if isinstance(tf, float) and math.isnan(tf):
            tf = 0.0
        gamma = int(row.get(f"gamma_{name}", -1))
        if gamma == -1:
            continue  # missing on one side: no evidence either way
        out.append({"field": name, "gamma": gamma, "weight": round(float(weight) + float(tf), 2)})
    return out


def resolution_run(*, actor: Actor, progress: Callable[[str], None] = lambda _s: None
                   ) -> dict[str, int]:
    """Compare every customer with every plausible other (Splink), merge the pairs above
    the automatic threshold and queue the ones between the thresholds for review."""
    from guanxi.dataquality.matching import AUTO_THRESHOLD, REVIEW_THRESHOLD, find_matches
    from guanxi.dataquality.selectors import customer_match_records

    require(actor, DataAction.CUSTOMER_MERGE)
    progress("read")
    frame = customer_match_records()
    summary = {"customers": len(frame), "merged": 0, "queued": 0, "skipped": 0}
    if len(frame) < 2:
        return summary
    progress("standardise")
    from guanxi.dataquality.matching import standardize_records

    records = standardize_records(frame, region=settings.GUANXI_DEFAULT_REGION)
    result = find_matches(records, threshold=REVIEW_THRESHOLD,
                          cluster_threshold=AUTO_THRESHOLD, progress=progress)
    progress("write")
    pairs = result.pairs.sort_values("match_probability", ascending=False)
    decided = {(a, b) for a, b in MatchCandidate.objects.exclude(
        status=MatchStatus.PENDING).values_list("left_id", "right_id")}
    merged_into: dict[int, int] = {}

    def current(pk: int) -> int:
        while pk in merged_into:
            pk = merged_into[pk]
        return pk

    for row in pairs.to_dict("records"):
        a, b = int(row["unique_id_l"]), int(row["unique_id_r"])
        left, right = min(a, b), max(a, b)
        if (left, right) in decided:
            summary["skipped"] += 1
            continue
        probability = float(row["match_probability"])
        weight = float(row["match_weight"]) if math.isfinite(row["match_weight"]) else 99.0
        if probability >= AUTO_THRESHOLD:
            keep, gone = current(left), current(right)
            if keep == gone:
                continue
            keep, gone = min(keep, gone), max(keep, gone)
            pair = Customer.objects.in_bulk([keep, gone])
            try:
                customers_merge(actor=actor, survivor=pair[keep], absorbed=pair[gone],
                                probability=probability, automatic=True)
            except (KeyError, Conflict):  # merged or deleted by someone else meanwhile
                summary["skipped"] += 1
                continue
            merged_into[gone] = keep
            summary["merged"] += 1
            continue
        if left in merged_into or right in merged_into:
            continue
        MatchCandidate.objects.update_or_create(
            left_id=left, right_id=right,
            defaults={"probability": probability, "weight": weight,
                      "explanation": _explanation(row, result.fields),
                      "status": MatchStatus.PENDING})
        summary["queued"] += 1
    log_action(actor=actor, action="dataquality.resolution_run", object_type="dataquality",
               extra=summary)
    return summary


def resolution_start(*, actor: Actor) -> ResolutionRun:
    """Queue an identity-resolution pass in the worker; one at a time."""
    require(actor, DataAction.CUSTOMER_MERGE)
    # A run whose work item gave up is marked failed by it (resolution_work_dead); one
    # with no live work item at all (lost with an old job runner) no longer blocks.
    live = WorkItem.objects.filter(queue=RESOLUTION_QUEUE,
                                   state__in=[WorkState.QUEUED, WorkState.RUNNING])
    live_runs = [item.payload.get("run_id") for item in live.only("payload")]
    ResolutionRun.objects.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).exclude(
        pk__in=live_runs).update(status=JobStatus.FAILED,
                                 error=_("Interrupted: the worker stopped"),
                                 finished_at=timezone.now())
    if ResolutionRun.objects.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).exists():
        raise Conflict(_("A search for duplicates is already running"))
    run = ResolutionRun.objects.create(created_by=staff(actor))
    work_enqueue(RESOLUTION_QUEUE, {"run_id": run.pk})
    return run


RESOLUTION_QUEUE = "dataquality.resolution"


def resolution_work(item: Any, ctx: Any) -> dict[str, Any]:
    """A claimed work item runs the search; taken over after a dead worker, it starts
    the search again (merges already made stay made; the rest are found again)."""
    run = resolution_run_job(item.payload["run_id"], taken_over=item.attempts > 1,
                             beat=ctx.renew)
    return {"status": run.status}


def resolution_work_dead(item: Any, reason: str) -> None:
    ResolutionRun.objects.filter(
        pk=item.payload["run_id"], status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).update(
        status=JobStatus.FAILED, error=_("Interrupted: the worker stopped"),
        finished_at=timezone.now())


def resolution_run_job(run_id: int, *, taken_over: bool = False,
                       beat: Any = None) -> ResolutionRun:
    """Worker side of resolution_start, recording each step for the progress display."""
    states = [JobStatus.QUEUED, JobStatus.RUNNING] if taken_over else [JobStatus.QUEUED]
    if not ResolutionRun.objects.filter(pk=run_id, status__in=states).update(
            status=JobStatus.RUNNING):
        return ResolutionRun.objects.get(pk=run_id)
    run = ResolutionRun.objects.select_related("created_by").get(pk=run_id)

    def progress(step: str) -> None:
        ResolutionRun.objects.filter(pk=run_id).update(step=step, heartbeat_at=timezone.now())
        if beat is not None:
            beat()

    try:
        summary = resolution_run(actor=run.created_by, progress=progress)
    except LeaseLost:
        raise
    except Exception:
        # The page says what happened in words; the traceback goes to the worker's log.
        logger.exception("resolution run %s failed", run_id)
        ResolutionRun.objects.filter(pk=run_id).update(
            status=JobStatus.FAILED,
            error=_("An unexpected error stopped the search (run #%(id)s); nothing was "
                    "merged after it. The details are in the worker's log.") % {"id": run_id},
            finished_at=timezone.now())
        return ResolutionRun.objects.get(pk=run_id)
    ResolutionRun.objects.filter(pk=run_id).update(
        status=JobStatus.DONE, summary=summary, step="", finished_at=timezone.now())
    run.refresh_from_db()
    return run


# --- automatic tag rules ------------------------------------------------------------

TAG_RULE_FIELDS = ("tag", "attribute", "operator", "value", "active")


def tag_rule_save(*, actor: Actor, rule: TagRule) -> TagRule:
    """Create or change an automatic tag rule (audited, old → new); every customer is
    re-tagged in the worker once it commits."""
    require(actor, DataAction.DATA_IMPORT)
    with transaction.atomic():
        stored = TagRule.objects.filter(pk=rule.pk).values(*TAG_RULE_FIELDS).first() \
            if rule.pk else None
        rule.full_clean()
        rule.save()
        log_action(actor=actor, action="tagrule.save", obj=rule,
                   changes=diff(stored or {}, {f: getattr(rule, f) for f in TAG_RULE_FIELDS}))
        _retag_everyone()
    return rule


def tag_rule_delete(*, actor: Actor, rule: TagRule) -> None:
    require(actor, DataAction.DATA_IMPORT)
    with transaction.atomic():
        log_action(actor=actor, action="tagrule.delete", obj=rule,
                   extra={"tag": rule.tag, "attribute": rule.attribute})
        rule.delete()
        _retag_everyone()


RETAG_QUEUE = "dataquality.retag"


def _retag_everyone() -> None:
    work_enqueue(RETAG_QUEUE)


def retag_work(item: Any, ctx: Any) -> dict[str, Any]:
    from guanxi.dataquality.autotags import autotags_apply_all

    return {"customers": autotags_apply_all()}
