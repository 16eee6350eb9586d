"""A generator run in a forked process: the child inherits everything the parent has
(settings, translations, loaded modules) and sends each item back as it is made, while
the parent uses the items before it (one core each). The child must not use the
database: the parent's connections are not shared with it.
Used where producing items is pure Python work and consuming them is the database's
(seeding generates rows, imports convert rows, while the parent writes)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")


def forked(make: Callable[[], Iterator[T]], what: str, *, stall_s: float = 600.0
           ) -> Iterator[T]:
    """The items of `make()`, made in a forked process; its errors are raised here with
    the child's traceback (`what` names the process in the message). A child that sends
    nothing for `stall_s` seconds (say, stuck on a lock another thread held at the fork)
    is stopped and that is an error too, so the caller never waits for ever."""
    import multiprocessing
    import time
    import traceback

    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    def produce() -> None:
        try:
            for item in make():
                send.send(("item", item))
            send.send(("done", None))
        except BaseException:  # reported to the parent, which raises
            send.send(("error", traceback.format_exc()))

    child = context.Process(target=produce, daemon=True)
    child.start()
    send.close()
    try:
        while True:
            waited = time.monotonic()
            while not receive.poll(1.0):
                if not child.is_alive() and not receive.poll(0):
                    raise RuntimeError(f"the {what} process died")
                if time.monotonic() - waited > stall_s:
                    raise RuntimeError(f"the {what} process sent nothing for {stall_s:.0f} s")
            try:
                status, value = receive.recv()
            except EOFError:
                raise RuntimeError(f"the {what} process died") from None
            if status == "done":
                return
            if status == "error":
                raise RuntimeError(f"the {what} process failed:\n{value}")
            yield value
    finally:
        receive.close()
        child.join(timeout=5)
        if child.is_alive():
            child.terminate()
