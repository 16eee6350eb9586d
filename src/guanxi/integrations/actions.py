"""The "call a webhook" automation action (registered in IntegrationsConfig.ready()).
The message is created in the step's transaction with an id derived from the action's
idempotency key, so a retried step never sends a second message."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from guanxi.integrations.models import WebhookEndpoint
from guanxi.integrations.webhooks import delivery_create


def call_webhook(*, customer_id: int, config: Mapping[str, Any], key: str) -> dict[str, Any]:
    endpoint = WebhookEndpoint.objects.filter(pk=int(config["endpoint"]), active=True).first()
    if endpoint is None:
        return {"done": False, "why": "endpoint missing or disabled"}
    message_id = "msg_a" + hashlib.sha256(key.encode()).hexdigest()[:32]
    delivery_create(endpoint, message_id=message_id, event_type="automation.action",
                    payload={"type": "automation.action",
                             "timestamp": timezone.now().isoformat(),
                             "data": {"customer_id": customer_id, "key": key,
                                      "note": str(config.get("note", ""))}},
                    customer_id=customer_id)
    return {"done": True, "message": message_id}
