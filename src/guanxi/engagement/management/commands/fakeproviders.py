"""Run the fake provider servers (Aliyun and Tencent SMS, WeChat, JPush) for trying
channels out without an account: `python -m guanxi fakeproviders --port 8025`, then point
a channel's "API address" at it (docs/engagement.md)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from guanxi.engagement.fakes import FakeProviders


class Command(BaseCommand):
    help = "Run fake SMS, WeChat and push provider servers (for trying Guanxi out)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--port", type=int, default=8025)

    def handle(self, *args: Any, port: int, **options: Any) -> None:
        fake = FakeProviders(port).start()
        self.stdout.write(f"fake providers on {fake.url} (Ctrl+C to stop)")
        try:
            while True:
                time.sleep(5)
                self.stdout.write(f"received: {len(fake.received)}")
        except KeyboardInterrupt:
            fake.stop()
