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
