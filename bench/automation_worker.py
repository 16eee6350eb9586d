"""A worker for bench/automation.py: what `guanxi worker` does for automations — the
trigger tick every second (the watchdog thread) and running due work items — plus the
bench's counting action, which has no protection of its own against running twice (so a
doubled step would show in its count)."""

from __future__ import annotations

import sys
import threading
import time

import django

django.setup()

from guanxi.automation.triggers import tick  # noqa: E402
from guanxi.core.work import work_drain  # noqa: E402

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from automation_count import register  # noqa: E402

register()
queues = sys.argv[1].split(",") if len(sys.argv) > 1 else None


def ticking() -> None:
    from django.db import close_old_connections

    while True:
        close_old_connections()
        try:
            tick()
        except Exception as exc:
            print("tick failed:", exc, file=sys.stderr)
        time.sleep(1.0)


if "--tick" in sys.argv:
    threading.Thread(target=ticking, daemon=True).start()
print("ready", flush=True)
while True:
    if not work_drain(queues):
        time.sleep(0.02)
