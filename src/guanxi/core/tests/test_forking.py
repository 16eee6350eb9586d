"""A generator in a forked process: items in order, errors and stalls raised here."""

from __future__ import annotations

import os
import time

import pytest

from guanxi.core.forking import forked


def _numbers():
    yield from ((i, os.getpid()) for i in range(5))


def test_items_arrive_in_order_from_another_process():
    items = list(forked(_numbers, "test"))
    assert [i for i, _pid in items] == list(range(5))
    assert {pid for _i, pid in items} != {os.getpid()}


def _failing():
    yield 1
    raise ValueError("bad row 2")


def test_an_error_in_the_child_is_raised_with_its_traceback():
    with pytest.raises(RuntimeError, match="bad row 2"):
        list(forked(_failing, "test"))


def _stuck():
    yield 1
    time.sleep(60)


def test_a_child_that_stops_sending_is_stopped():
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="sent nothing"):
        list(forked(_stuck, "test", stall_s=2))
    assert time.monotonic() - started < 15
