"""The "log only" provider: nothing leaves Guanxi; a line is written to the log (the
message's key and channel: addresses and texts are personal data and stay out of logs;
the message itself is on the Messages page) and it counts as sent. For trying Guanxi out
and for demos."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from guanxi.engagement.providers import Outcome, Outgoing

logger = logging.getLogger("guanxi.engagement.log")


def send(message: Outgoing, config: Mapping[str, Any]) -> Outcome:
    logger.info("message %s on %s: log only, not sent", message.key, message.channel)
    return Outcome(ok=True, provider_id=f"log:{message.key}")
