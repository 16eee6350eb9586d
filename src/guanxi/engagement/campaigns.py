"""Campaigns: a segment's members at the moment of sending (frozen as CampaignRecipient
rows), split by a stable hash into a holdout control group and the variants by their
shares; messages queued through the outbox (so the one send policy applies to every
recipient) at the throttle's pace; with a winner metric and a test share, the winner —
the variant with the best open, click or conversion rate, with the p-value of a
chi-square test against the runner-up — goes to the rest. Orders a recipient places
within the conversion window after their message (after the launch, for the holdout)
count as conversions; the report compares each variant with the holdout (the lift)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.analytics.models import Segment
from guanxi.analytics.segments import compile_rules
from guanxi.audit.services import log_action
from guanxi.core.bulk import insert_objects
from guanxi.core.errors import Conflict, FieldError, InvalidInput
from guanxi.core.models import WorkItem
from guanxi.core.permissions import Actor, require, staff
from guanxi.core.work import work_enqueue
from guanxi.customers.models import Customer, Event, Order, OrderStatus
from guanxi.customers.selectors import visible_customers
from guanxi.engagement.models import (
    HOLDOUT,
    OUT,
    PENDING,
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    CampaignVariant,
    Message,
    MessageStatus,
    Template,
    WinnerMetric,
)
from guanxi.engagement.outbox import Draft, queue_messages
from guanxi.engagement.permissions import EngagementAction

QUEUE = "engagement.campaign"
CODES = "ABCDE"
BATCH = 2000


@dataclass(frozen=True)
class VariantInput:
    template_id: int
    share: int


# --- writing ----------------------------------------------------------------------------

def campaign_save(*, actor: Actor, name: str, segment_id: Any, variants: Sequence[VariantInput],
                  holdout_percent: int = 10, scheduled_at: dt.datetime | None = None,
                  throttle_per_hour: int = 0, winner_metric: str = "",
                  test_percent: int = 100, winner_after_hours: int = 4,
                  conversion_days: int = 7, campaign: Campaign | None = None) -> Campaign:
    require(actor, EngagementAction.MANAGE)
    if campaign is not None and campaign.status != CampaignStatus.DRAFT:
        raise Conflict(_("Only a draft campaign can be changed"), field_name="status")
    errors: list[FieldError] = []
    name = name.strip()
    if not name:
        errors.append(FieldError("name", _("Give the campaign a name")))
    elif Campaign.objects.filter(name=name).exclude(pk=campaign.pk if campaign else 0).exists():
        errors.append(FieldError("name", _("Another campaign has this name"), name))
    segment = Segment.objects.filter(pk=segment_id).first() if str(segment_id).isdigit() \
        else None
    if segment is None:
        errors.append(FieldError("segment", _("Choose the audience (a segment)"), segment_id))
    if not 1 <= len(variants) <= len(CODES):
        errors.append(FieldError("variants", _("Give 1 to 5 variants")))
    templates = {t.pk: t for t in Template.objects.filter(
        pk__in=[v.template_id for v in variants], archived=False)}
    channels = {t.channel for t in templates.values()}
    for i, v in enumerate(variants):
        if v.template_id not in templates:
            errors.append(FieldError(f"variants.{i}.template", _("Choose a template"),
                                     v.template_id))
        if not 1 <= v.share <= 100:
            errors.append(FieldError(f"variants.{i}.share", _("Give 1 to 100"), v.share))
    if len(channels) > 1:
        errors.append(FieldError("variants", _("All variants must use one channel")))
    if variants and sum(v.share for v in variants) != 100:
        errors.append(FieldError("variants", _("The shares must add up to 100"),
                                 sum(v.share for v in variants)))
    if not 0 <= holdout_percent <= 50:
        errors.append(FieldError("holdout_percent", _("Give 0 to 50"), holdout_percent))
    if winner_metric not in WinnerMetric.values:
        errors.append(FieldError("winner_metric", _("Unknown metric"), winner_metric))
    if not 1 <= test_percent <= 100:
        errors.append(FieldError("test_percent", _("Give 1 to 100"), test_percent))
    if test_percent < 100 and (not winner_metric or len(variants) < 2):
        errors.append(FieldError("test_percent", _(
            "Sending the winner to the rest needs two variants and a winner metric")))
    if not 1 <= winner_after_hours <= 168:
        errors.append(FieldError("winner_after_hours", _("Give 1 to 168"), winner_after_hours))
    if not 1 <= conversion_days <= 90:
        errors.append(FieldError("conversion_days", _("Give 1 to 90"), conversion_days))
    if throttle_per_hour < 0:
        errors.append(FieldError("throttle_per_hour", _("Give 0 or more"), throttle_per_hour))
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        creating = campaign is None
        campaign = campaign or Campaign(created_by=staff(actor))
        campaign.name, campaign.segment = name, segment  # type: ignore[assignment]
        campaign.channel = next(iter(channels))
        campaign.holdout_percent, campaign.scheduled_at = holdout_percent, scheduled_at
        campaign.throttle_per_hour, campaign.winner_metric = throttle_per_hour, winner_metric
        campaign.test_percent, campaign.winner_after_hours = test_percent, winner_after_hours
        campaign.conversion_days = conversion_days
        campaign.save()
        CampaignVariant.objects.filter(campaign=campaign).delete()
        CampaignVariant.objects.bulk_create([
            CampaignVariant(campaign=campaign, code=CODES[i], template_id=v.template_id,
                            share=v.share) for i, v in enumerate(variants)])
        log_action(actor=actor, action="campaign.create" if creating else "campaign.change",
                   obj=campaign, extra={"segment": segment.pk if segment else None,
                                        "variants": len(variants)})
    return campaign


def audience(campaign: Campaign) -> Any:
    """Who the campaign would go to now: the segment's rules, evaluated at this moment,
    among the customers its creator may see."""
    base = visible_customers(campaign.created_by) if campaign.created_by else \
        Customer.objects.all()
    return base.filter(erased_at__isnull=True).filter(compile_rules(campaign.segment.rules))


def campaign_launch(*, actor: Actor, campaign: Campaign) -> Campaign:
    """Send now, or at the scheduled time."""
    require(actor, EngagementAction.MANAGE)
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status != CampaignStatus.DRAFT:
            raise Conflict(_("This campaign was launched already"), field_name="status")
        if not campaign.variants.exists():
            raise InvalidInput.single("variants", _("Give at least one variant"))
        now = timezone.now()
        at = campaign.scheduled_at if campaign.scheduled_at and campaign.scheduled_at > now \
            else now
        campaign.status = CampaignStatus.SCHEDULED if at > now else CampaignStatus.SENDING
        campaign.save(update_fields=["status"])
        work_enqueue(QUEUE, {"campaign": campaign.pk, "step": "launch"},
                     key=f"campaign:{campaign.pk}:launch", run_after=at)
        log_action(actor=actor, action="campaign.launch", obj=campaign,
                   extra={"at": at.isoformat()})
    return campaign


def campaign_cancel(*, actor: Actor, campaign: Campaign) -> int:
    """Stop a campaign: messages not out yet are cancelled. Returns how many."""
    require(actor, EngagementAction.MANAGE)
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status not in (CampaignStatus.SCHEDULED, CampaignStatus.SENDING):
            raise Conflict(_("Only a scheduled or sending campaign can be cancelled"),
                           field_name="status")
        campaign.status = CampaignStatus.CANCELLED
        campaign.save(update_fields=["status"])
        cancelled = Message.objects.filter(origin="campaign", origin_id=campaign.pk,
                                           status__in=PENDING).update(
            status=MessageStatus.CANCELLED, reason="cancelled")
        log_action(actor=actor, action="campaign.cancel", obj=campaign,
                   extra={"cancelled": cancelled})
    return cancelled


# --- sending ----------------------------------------------------------------------------

def _roll(campaign_id: int, customer_id: int, salt: str) -> float:
    digest = hashlib.sha256(f"{campaign_id}:{customer_id}:{salt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign(campaign: Campaign, variants: Sequence[CampaignVariant], customer_id: int
           ) -> tuple[str, bool]:
    """(variant, in the test share) for one customer: stable, so a launch run again after
    a crash assigns the same."""
    if _roll(campaign.pk, customer_id, "holdout") * 100 < campaign.holdout_percent:
        return HOLDOUT, True
    if campaign.test_percent < 100 and \
            _roll(campaign.pk, customer_id, "test") * 100 >= campaign.test_percent:
        return "", False  # waits for the winner
    roll, edge = _roll(campaign.pk, customer_id, "variant") * 100, 0
    for v in variants:
        edge += v.share
        if roll < edge:
            return v.code, True
    return variants[-1].code, True


def _spacing(campaign: Campaign) -> float:
    return 3600.0 / campaign.throttle_per_hour if campaign.throttle_per_hour else 0.0


def _queue(campaign: Campaign, rows: Sequence[tuple[int, str]], start: dt.datetime,
           offset: int, templates: dict[str, int]) -> int:
    step = _spacing(campaign)
    drafts = [Draft(key=f"campaign:{campaign.pk}:{cid}:{campaign.channel}", customer_id=cid,
                    channel=campaign.channel, purpose="marketing", origin="campaign",
                    origin_id=campaign.pk, variant=code, template_id=templates[code],
                    due_at=start + dt.timedelta(seconds=step * (offset + i)),
                    created_by_id=campaign.created_by_id)
              for i, (cid, code) in enumerate(rows)]
    return queue_messages(drafts)


def _launch(campaign: Campaign, ctx: Any) -> dict[str, Any]:
    variants = list(campaign.variants.all())
    templates = {v.code: v.template_id for v in variants}
    now = timezone.now()
    ids = list(audience(campaign).order_by("pk").values_list("pk", flat=True))
    Campaign.objects.filter(pk=campaign.pk).update(
        audience_size=len(ids), launched_at=campaign.launched_at or now,
        status=CampaignStatus.SENDING)
    queued = 0
    for start in range(0, len(ids), BATCH):
        part = ids[start:start + BATCH]
        with transaction.atomic():
            ctx.renew()
            if Campaign.objects.filter(pk=campaign.pk,
                                       status=CampaignStatus.CANCELLED).exists():
                return {"cancelled": True, "queued": queued}
            rows = [(cid, *assign(campaign, variants, cid)) for cid in part]
            insert_objects(CampaignRecipient, [
                {"campaign_id": campaign.pk, "customer_id": cid, "variant": code,
                 "test": test} for cid, code, test in rows],
                ignore_conflicts=True)
            sending = [(cid, code) for cid, code, _test in rows if code not in ("", HOLDOUT)]
            queued += _queue(campaign, sending, now, start, templates)
        ctx.progress(min(start + BATCH, len(ids)), len(ids))
    if campaign.winner_metric and campaign.test_percent < 100:
        work_enqueue(QUEUE, {"campaign": campaign.pk, "step": "winner"},
                     key=f"campaign:{campaign.pk}:winner",
                     run_after=now + dt.timedelta(hours=campaign.winner_after_hours))
    return {"audience": len(ids), "queued": queued}


def progress(campaign: Campaign) -> dict[str, int]:
    """How far the send is (messages queued or held, gone out, not sent, cancelled); a
    sending campaign with nothing left to send — and its winner sent, if it has a test —
    becomes sent."""
    counts = dict(Message.objects.filter(origin="campaign", origin_id=campaign.pk)
                  .values("status").annotate(n=Count("pk")).values_list("status", "n"))
    pending = sum(counts.get(s, 0) for s in PENDING) + counts.get(MessageStatus.SENDING, 0)
    waiting_winner = bool(campaign.winner_metric and campaign.test_percent < 100
                          and not campaign.winner)
    launched = campaign.launched_at is not None
    if campaign.status == CampaignStatus.SENDING and launched and not pending \
            and not waiting_winner:
        Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.SENDING).update(
            status=CampaignStatus.SENT)
        campaign.status = CampaignStatus.SENT
    total = sum(counts.values())
    return {"total": total, "pending": pending,
            "out": sum(counts.get(s, 0) for s in OUT if s != MessageStatus.SENDING),
            "not_sent": counts.get(MessageStatus.NOT_SENT, 0),
            "failed": counts.get(MessageStatus.FAILED, 0),
            "cancelled": counts.get(MessageStatus.CANCELLED, 0),
            "percent": round(100 * (total - pending) / total) if total else 0}


def pick_winner(campaign: Campaign) -> tuple[str, float | None]:
    """The variant with the best rate of the campaign's metric, and the p-value of a
    chi-square test of it against the runner-up (None with one variant)."""
    from scipy.stats import chi2_contingency

    rows = [r for r in report(campaign)["variants"] if r["code"] != HOLDOUT and r["sent"]]
    if not rows:
        return "", None
    field = {"open": "opened", "click": "clicked", "conversion": "converted"}[
        campaign.winner_metric or "click"]
    rows.sort(key=lambda r: r[field] / r["sent"], reverse=True)
    if len(rows) < 2:
        return rows[0]["code"], None
    a, b = rows[0], rows[1]
    table = [[a[field], a["sent"] - a[field]], [b[field], b["sent"] - b[field]]]
    if min(sum(col) for col in zip(*table, strict=True)) == 0:
        return a["code"], 1.0
    return a["code"], float(chi2_contingency(table, correction=False)[1])


def _send_winner(campaign: Campaign, ctx: Any) -> dict[str, Any]:
    if campaign.status != CampaignStatus.SENDING:
        return {"skipped": campaign.status}
    code, p = pick_winner(campaign)
    if not code:
        code = campaign.variants.values_list("code", flat=True).first() or ""
    Campaign.objects.filter(pk=campaign.pk).update(winner=code, winner_p=p)
    template = campaign.variants.get(code=code).template_id
    rest = list(CampaignRecipient.objects.filter(campaign=campaign, variant="")
                .order_by("customer_id").values_list("customer_id", flat=True))
    now, queued = timezone.now(), 0
    for start in range(0, len(rest), BATCH):
        part = rest[start:start + BATCH]
        with transaction.atomic():
            ctx.renew()
            CampaignRecipient.objects.filter(campaign=campaign, customer_id__in=part,
                                             variant="").update(variant=code)
            queued += _queue(campaign, [(cid, code) for cid in part], now, start,
                             {code: template})
    return {"winner": code, "p": p, "queued": queued}


def campaign_work(item: WorkItem, ctx: Any) -> dict[str, Any]:
    """The `engagement.campaign` handler (not atomic: it checkpoints per batch of
    recipients; recipients and messages are keyed, so a batch done twice adds nothing)."""
    campaign = Campaign.objects.select_related("segment", "created_by").filter(
        pk=item.payload["campaign"]).first()
    if campaign is None or campaign.status == CampaignStatus.CANCELLED:
        return {"skipped": True}
    if item.payload["step"] == "launch":
        return _launch(campaign, ctx)
    return _send_winner(campaign, ctx)


# --- results ----------------------------------------------------------------------------

def _conversions(customer_sent: dict[int, dt.datetime], days: int
                 ) -> tuple[set[int], Decimal]:
    """Recipients with a paid order within `days` after their message, and the revenue."""
    converted: set[int] = set()
    revenue = Decimal(0)
    ids = list(customer_sent)
    window = dt.timedelta(days=days)
    for start in range(0, len(ids), BATCH):
        part = ids[start:start + BATCH]
        earliest = min(customer_sent[c] for c in part)
        orders = Order.objects.filter(customer_id__in=part, status=OrderStatus.PAID,
                                      placed_at__gte=earliest).values_list(
            "customer_id", "placed_at", "total")
        for cid, placed, total in orders:
            since = customer_sent[cid]
            if since <= placed <= since + window:
                converted.add(cid)
                revenue += total
    return converted, revenue


def report(campaign: Campaign) -> dict[str, Any]:
    """Per variant and the holdout: recipients, sent, delivered, opened, clicked,
    unsubscribed, converted, revenue, rates, and each variant's lift over the holdout."""
    rows: list[dict[str, Any]] = []
    launched = campaign.launched_at or timezone.now()
    messages = Message.objects.filter(origin="campaign", origin_id=campaign.pk)
    counts: dict[str, dict[str, Any]] = {r["variant"]: dict(r) for r in messages.values(
        "variant").annotate(
        sent=Count("pk", filter=Q(status__in=OUT)),
        delivered=Count("pk", filter=Q(status=MessageStatus.DELIVERED)),
        opened=Count("pk", filter=Q(opened_at__isnull=False)),
        clicked=Count("pk", filter=Q(clicked_at__isnull=False)),
        not_sent=Count("pk", filter=Q(status=MessageStatus.NOT_SENT)))}
    recipients = dict(CampaignRecipient.objects.filter(campaign=campaign).values(
        "variant").annotate(n=Count("pk")).values_list("variant", "n"))
    unsubscribed = dict(Event.objects.filter(
        kind="message_unsubscribed", data__origin="campaign",
        data__origin_id=campaign.pk).values("data__message").annotate(n=Count("pk"))
        .values_list("data__message", "n"))
    by_message = dict(messages.values_list("pk", "variant"))
    unsub_by_variant: dict[str, int] = {}
    for message_id in unsubscribed:
        variant = by_message.get(message_id, "")
        unsub_by_variant[variant] = unsub_by_variant.get(variant, 0) + 1
    codes = [*campaign.variants.values_list("code", flat=True), HOLDOUT]
    holdout_rate = None
    for code in codes:
        if code == HOLDOUT:
            sent_at = {cid: launched for cid in CampaignRecipient.objects.filter(
                campaign=campaign, variant=HOLDOUT).values_list("customer_id", flat=True)}
        else:
            sent_at = {cid: at for cid, at in messages.filter(
                variant=code, sent_at__isnull=False).values_list("customer_id", "sent_at")
                if at is not None}
        converted, revenue = _conversions(sent_at, campaign.conversion_days)
        c = counts.get(code, {})
        n = recipients.get(code, 0)
        base = len(sent_at)
        row = {"code": code, "recipients": n, "sent": c.get("sent", 0),
               "delivered": c.get("delivered", 0), "opened": c.get("opened", 0),
               "clicked": c.get("clicked", 0), "not_sent": c.get("not_sent", 0),
               "unsubscribed": unsub_by_variant.get(code, 0), "converted": len(converted),
               "revenue": revenue, "base": base,
               "conversion_rate": len(converted) / base if base else 0.0}
        rows.append(row)
        if code == HOLDOUT:
            holdout_rate = row["conversion_rate"]
    holdout = rows[-1]
    for row in rows[:-1]:
        row["lift"] = ((row["conversion_rate"] - holdout_rate) / holdout_rate
                       if holdout_rate else None)
        row["lift_percent"] = round(100 * row["lift"], 1) if row["lift"] is not None else None
        row["lift_p"] = _p_value(row["converted"], row["base"], holdout["converted"],
                                 holdout["base"])
    return {"variants": rows, "holdout": holdout}


def _p_value(a: int, n_a: int, b: int, n_b: int) -> float | None:
    """Chi-square test of two conversion rates (None when it cannot be computed)."""
    if not n_a or not n_b:
        return None
    from scipy.stats import chi2_contingency

    table = [[a, n_a - a], [b, n_b - b]]
    if min(sum(col) for col in zip(*table, strict=True)) == 0:
        return None
    return float(chi2_contingency(table, correction=False)[1])
