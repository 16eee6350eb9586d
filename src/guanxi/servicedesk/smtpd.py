"""The desk's SMTP receiver (aiosmtpd): point the MX of e.g. support.example.com (or a
forwarding rule) at it; every accepted mail goes to inbound.receive(). Mail larger than
`max_bytes` is refused at DATA with 552, so nothing half-stored."""

from __future__ import annotations

import asyncio
from typing import Any

from aiosmtpd.controller import Controller


class DeskHandler:
    def __init__(self, accept: tuple[str, ...] = ()) -> None:
        self.accept = tuple(a.lower() for a in accept)
        self.filed: list[Any] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: Any) -> str:
        domain = address.rpartition("@")[2].lower()
        if self.accept and address.lower() not in self.accept and domain not in self.accept:
            return "550 5.1.1 not a mailbox of this service desk"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        outcome = await asyncio.get_running_loop().run_in_executor(None, _file, raw)
        self.filed.append(outcome)
        return "250 OK" if outcome.action != "error" else "451 4.3.0 try again later"


def _file(raw: bytes) -> Any:
    from django.db import close_old_connections

    from guanxi.servicedesk.inbound import Outcome, receive

    close_old_connections()
    try:
        return receive(raw)
    except Exception as exc:
        return Outcome("error", reason=str(exc))
    finally:
        close_old_connections()


def start(host: str, port: int, *, accept: tuple[str, ...] = (),
          max_bytes: int = 30 * 1024 * 1024) -> Controller:
    handler = DeskHandler(accept)
    controller = Controller(handler, hostname=host, port=port, data_size_limit=max_bytes)
    controller.start()
    return controller
