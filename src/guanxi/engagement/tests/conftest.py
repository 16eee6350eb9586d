from __future__ import annotations

import email
import email.policy
import socket

import pytest
from aiosmtpd.controller import Controller

from guanxi.engagement.models import ChannelSetup


@pytest.fixture
def log_channels(db):
    """Every channel sent through the log-only provider, without quiet hours."""
    for channel in ("email", "sms", "wechat", "push"):
        ChannelSetup.objects.update_or_create(channel=channel, defaults={
            "provider": "log", "quiet_start": "00:00", "quiet_end": "00:00",
            "rate_per_second": 10000})


class Sink:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        if any(r.startswith("bounce") for r in envelope.rcpt_tos):
            return "550 5.1.1 no such user"
        self.messages.append(email.message_from_bytes(envelope.content,
                                                      policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def smtp(db):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    ChannelSetup.objects.update_or_create(channel="email", defaults={
        "provider": "smtp", "config": {"host": "127.0.0.1", "port": port,
                                       "from_email": "shop@longjing.example",
                                       "from_name": "龙井茶庄"},
        "quiet_start": "00:00", "quiet_end": "00:00", "rate_per_second": 1000})
    yield sink
    controller.stop()
