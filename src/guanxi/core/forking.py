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


def forked(make: Callable[[], Iterator[T]], what: str) -> Iterator[T]:
    """The items of `make()`, made in a forked process; its errors are raised here with
    the child's traceback (`what` names the process in the message)."""
    import multiprocessing
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
