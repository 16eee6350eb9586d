"""Run the service desk's SMTP receiver: `guanxi desk_smtpd --port 2525 --accept
support@example.com`. Mail to the accepted addresses (or domains) becomes tickets and
replies (docs/servicedesk.md)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Receive customers' mail by SMTP and file it as tickets and replies."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=2525)
        parser.add_argument("--accept", action="append", default=[],
                            help="an address or domain to accept mail for (repeatable; "
                                 "none: any)")

    def handle(self, *args: Any, host: str, port: int, accept: list[str],
               **options: Any) -> None:
        from guanxi.servicedesk.smtpd import start

        controller = start(host, port, accept=tuple(accept))
        self.stdout.write(f"service desk SMTP receiver on {host}:{port} (Ctrl+C to stop)")
        try:
            while True:
                time.sleep(60)
        except KeyboardInterrupt:
            controller.stop()
