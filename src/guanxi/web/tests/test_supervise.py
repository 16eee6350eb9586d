"""`guanxi demo` keeps web server and worker running: a child that dies is started
again, and the other one is left alone."""

from __future__ import annotations

import os
import signal
import sys

from guanxi.web.management.commands.demo import Supervised


def test_a_killed_child_is_started_again_and_the_other_keeps_running():
    # given two supervised children
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    web, worker = Supervised("web server", sleeper), Supervised("worker", sleeper)
    web.start()
    worker.start()
    said: list[str] = []
    try:
        first_worker, web_pid = worker.proc.pid, web.proc.pid
        # when the worker is killed
        os.kill(first_worker, signal.SIGKILL)
        worker.proc.wait(timeout=10)
        worker.started_at -= 60  # it had been running a while: no back-off
        for child in (web, worker):
            child.check(said.append)
        # then it runs again under a new process, and the web server was not touched
        assert worker.proc.pid != first_worker and worker.proc.poll() is None
        assert web.proc.pid == web_pid and web.proc.poll() is None
        assert worker.restarts == 1 and "worker stopped" in said[0]
    finally:
        for child in (web, worker):
            child.stop()
            child.wait()


def test_a_child_that_keeps_dying_is_restarted_with_growing_pauses():
    pauses: list[float] = []
    child = Supervised("worker", [sys.executable, "-c", "raise SystemExit(3)"],
                       sleep=pauses.append)
    child.start()
    for _ in range(3):
        child.proc.wait(timeout=10)
        child.check(lambda _text: None)
    child.proc.wait(timeout=10)
    assert pauses == [2.0, 4.0, 8.0]
