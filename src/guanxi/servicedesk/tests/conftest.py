from __future__ import annotations

import pytest

from guanxi.engagement.models import ChannelSetup
from guanxi.servicedesk.models import AgentProfile, Queue, SlaPolicy, Survey


@pytest.fixture
def desk(db, personas):
    """A queue with two available agents, the default 24-hour first-response policy
    counted around the clock, the after-ticket CSAT survey, and the log provider."""
    for channel in ("email", "sms", "wechat", "push"):
        ChannelSetup.objects.update_or_create(channel=channel, defaults={
            "provider": "log", "quiet_start": "00:00", "quiet_end": "00:00",
            "rate_per_second": 10000})
    queue = Queue.objects.create(name="Support")
    for user in (personas.service, personas.manager):
        profile = AgentProfile.objects.create(user=user)
        profile.queues.add(queue)
    SlaPolicy.objects.create(name="Default", first_response_minutes=24 * 60,
                             next_response_minutes=8 * 60, resolution_minutes=3 * 24 * 60,
                             business_hours=False)
    Survey.objects.create(name="CSAT", kind="csat", after_tickets=True,
                          questions=["Was the answer quick?"])
    return queue
