from __future__ import annotations

import pytest

from guanxi.engagement.models import ChannelSetup


@pytest.fixture
def log_channels(db):
    """Every channel sent through the log-only provider, without quiet hours."""
    for channel in ("email", "sms", "wechat", "push"):
        ChannelSetup.objects.update_or_create(channel=channel, defaults={
            "provider": "log", "quiet_start": "00:00", "quiet_end": "00:00",
            "rate_per_second": 10000})
