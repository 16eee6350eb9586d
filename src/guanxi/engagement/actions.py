"""The "send a message" automation action: queues the template's message for the
customer once per step key (the automation's idempotency key), and the outbox sends it
under the send policy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from guanxi.engagement.models import Message, Template
from guanxi.engagement.outbox import Draft, queue_messages


def send_message(*, customer_id: int, config: Mapping[str, Any], key: str
                 ) -> Mapping[str, Any]:
    template = Template.objects.get(pk=int(config["template"]))
    # the key is "<version>:<customer>:<step>:<occurrence>" (automation.engine.action_key)
    version, _customer, step, _occurrence = key.split(":")
    message_key = f"auto:{key}:{template.channel}"
    queue_messages([Draft(key=message_key, customer_id=customer_id,
                          channel=template.channel, purpose=template.purpose,
                          origin="automation", origin_id=int(version), variant=step,
                          template_id=template.pk)])
    message = Message.objects.only("pk").get(key=message_key)
    return {"message": message.pk, "channel": template.channel}
