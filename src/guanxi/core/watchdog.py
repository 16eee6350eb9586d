"""Work that a dead worker left half done is put back in the queue quickly.

A running job proves it is alive with a heartbeat written every HEARTBEAT_S seconds by a
thread of its own (independent of how long a row or a chunk takes). Each worker process
runs a watchdog loop every WATCH_S seconds that calls the registered checks; each check
requeues its jobs whose heartbeat is older than STALE_S. A job whose worker was killed is
thus running again within STALE_S + WATCH_S seconds (about 25 s), not at the next
minute's periodic task. Apps register their checks in AppConfig.ready()."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import close_old_connections, connections

logger = logging.getLogger(__name__)

HEARTBEAT_S = 5.0
STALE_S = 20.0
WATCH_S = 5.0

TICK_S = 1.0

_CHECKS: dict[Callable[[], int], float] = {}
_LAST: dict[Callable[[], int], float] = {}


def register_check(check: Callable[[], int], every: float | None = None) -> None:
    """`check` requeues stalled jobs of one kind (or reads a queue, like the automation
    triggers) and returns how many it requeued; it runs every `every` seconds (WATCH_S
    by default; at least TICK_S)."""
    _CHECKS[check] = max(TICK_S, WATCH_S if every is None else every)


def run_checks(*, due_only: bool = False) -> int:
    requeued = 0
    now = time.monotonic()
    for check, every in list(_CHECKS.items()):
        if due_only and now - _LAST.get(check, -1e9) < every:
            continue
        _LAST[check] = now
        try:
            requeued += check()
        except Exception:  # one broken check must not stop the others
            logger.exception("watchdog check %s failed", check)
    return requeued


def watch_forever(stop: threading.Event, interval: float | None = None) -> None:
    """The worker's watchdog loop (a daemon thread of `guanxi worker`): every TICK_S it
    runs the checks whose interval has passed."""
    while not stop.wait(TICK_S if interval is None else interval):
        close_old_connections()
        if requeued := run_checks(due_only=True):
            logger.warning("requeued %s stalled job(s)", requeued)


@contextmanager
def heartbeat(beat: Callable[[], object], interval: float | None = None) -> Iterator[None]:
    """Call `beat` every `interval` seconds from a thread while the block runs."""
    stop = threading.Event()

    def loop() -> None:
        try:
            while not stop.wait(HEARTBEAT_S if interval is None else interval):
                try:
                    beat()
                except Exception:
                    logger.exception("heartbeat failed")
        finally:
            connections.close_all()

    thread = threading.Thread(target=loop, name="heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)
