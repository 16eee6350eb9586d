"""Reads of the engagement app."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from guanxi.engagement.models import (
    ChannelSetup,
    Message,
    MessageChannel,
    Purpose,
    Suppression,
    Template,
)


def template_choices() -> list[tuple[str, str]]:
    return [(str(t.pk), f"{t.name} ({t.get_channel_display()})")
            for t in Template.objects.filter(archived=False).order_by("name")]


def templates(*, include_archived: bool = False) -> QuerySet[Template]:
    found = Template.objects.prefetch_related("texts").order_by("name")
    return found if include_archived else found.filter(archived=False)


def messages_of_customer(customer_id: int, *, limit: int = 50) -> list[Message]:
    return list(Message.objects.filter(customer_id=customer_id).select_related("template")
                .order_by("-pk")[:limit])


def messages(*, channel: str = "", status: str = "", origin: str = "") -> QuerySet[Message]:
    found = Message.objects.select_related("template").order_by("-pk")
    if channel:
        found = found.filter(channel=channel)
    if status:
        found = found.filter(status=status)
    if origin:
        found = found.filter(origin=origin)
    return found


def channel_setups() -> dict[str, ChannelSetup | None]:
    have = {s.channel: s for s in ChannelSetup.objects.all()}
    return {c: have.get(c) for c in MessageChannel.values}


def suppressions(*, channel: str = "") -> QuerySet[Suppression]:
    found = Suppression.objects.order_by("-created_at")
    return found.filter(channel=channel) if channel else found


def send_form_choices() -> dict[str, Any]:
    return {"channels": MessageChannel.choices, "purposes": Purpose.choices,
            "templates": [(t.pk, t.name, t.channel) for t in
                          Template.objects.filter(archived=False).order_by("name")]}


def automation_message_stats() -> list[dict[str, Any]]:
    """Messages sent by automation steps, per automation version and step: queued, out,
    not sent, opened, clicked."""
    from django.db.models import Count, Q

    from guanxi.engagement.models import OUT, MessageStatus

    rows: list[dict[str, Any]] = [dict(r) for r in
        Message.objects.filter(origin="automation").values("origin_id", "variant")
                .annotate(total=Count("pk"), out=Count("pk", filter=Q(status__in=OUT)),
                          not_sent=Count("pk", filter=Q(status=MessageStatus.NOT_SENT)),
                          opened=Count("pk", filter=Q(opened_at__isnull=False)),
                          clicked=Count("pk", filter=Q(clicked_at__isnull=False)))
                .order_by("origin_id", "variant")]
    names = _automation_names({int(r["origin_id"]) for r in rows if r["origin_id"]})
    for r in rows:
        r["automation"], r["automation_id"] = names.get(int(r["origin_id"] or 0), ("", None))
    return rows


def _automation_names(version_ids: set[int]) -> dict[int, tuple[str, int | None]]:
    """The automation (name, id) of each version."""
    from guanxi.automation.models import AutomationVersion

    return {v["pk"]: (v["automation__name"], v["automation_id"])
            for v in AutomationVersion.objects.filter(pk__in=version_ids).values(
                "pk", "automation__name", "automation_id")}
