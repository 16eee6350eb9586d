"""The kinds of timeline event Guanxi knows, with their labels."""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy as _

EVENT_KINDS = {
    "customer_created": _("Customer created"),
    "profile_updated": _("Profile updated"),
    "identity_added": _("Contact added"),
    "identity_removed": _("Contact removed"),
    "consent_changed": _("Consent changed"),
    "tag_added": _("Tag added"),
    "tag_removed": _("Tag removed"),
    "order_placed": _("Order placed"),
    "order_refunded": _("Order refunded"),
    "order_cancelled": _("Order cancelled"),
    "call": _("Call"),
    "visit": _("Visit"),
    "note": _("Note"),
    "email_sent": _("Email sent"),
    "email_opened": _("Email opened"),
    "email_clicked": _("Email link clicked"),
    "sms_sent": _("SMS sent"),
    "wechat_message": _("WeChat message"),
    "page_viewed": _("Page viewed"),
    "app_opened": _("App opened"),
    "store_visit": _("Store visit"),
    "cart_abandoned": _("Cart abandoned"),
    "complaint": _("Complaint"),
    "feedback": _("Feedback"),
    "points_earned": _("Points earned"),
    "customer_merged": _("Duplicate merged in"),
    "customer_unmerged": _("Merge undone"),
    "tags_automatic": _("Automatic tags"),
    "stage_changed": _("Lifecycle stage changed"),
    "tier_changed": _("Value tier changed"),
}

INTERACTION_KINDS = ("call", "visit", "note")

# Kinds only Guanxi's own services write; the API may not forge them.
INTERNAL_KINDS = frozenset({
    "customer_created", "profile_updated", "identity_added", "identity_removed",
    "consent_changed", "tag_added", "tag_removed", "order_placed", "order_refunded",
    "order_cancelled", "customer_merged", "customer_unmerged", "tags_automatic",
    "stage_changed", "tier_changed",
})

_CUSTOM = re.compile(r"^custom\.[a-z][a-z0-9_]{0,56}$")


def is_ingestible_kind(kind: str) -> bool:
    return (kind in EVENT_KINDS and kind not in INTERNAL_KINDS) or bool(_CUSTOM.match(kind))


def kind_label(kind: str) -> str:
    return str(EVENT_KINDS.get(kind, kind))
