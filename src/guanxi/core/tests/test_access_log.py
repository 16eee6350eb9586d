"""The web server's access log: paths without their query strings (searches by phone or
email stay out of the log)."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request

from guanxi.core.management.commands.serve import gunicorn_argv


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_access_log_has_no_query_strings(tmp_path):
    # given the server as `guanxi serve` starts it
    bind = f"127.0.0.1:{_free_port()}"
    log = (tmp_path / "access.log").open("w+")
    proc = subprocess.Popen(gunicorn_argv(bind, 1, 1), stdout=log, stderr=subprocess.STDOUT)
    try:
        # when a search by phone and by email is requested
        for query in ("q=13800138000", "q=secret.person%40example.com"):
            for _ in range(100):
                try:
                    urllib.request.urlopen(f"http://{bind}/api/v1/customers?{query}",
                                           timeout=5)
                except urllib.error.HTTPError:
                    break  # 401 without a token: the request reached the log
                except OSError:
                    time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    # then the log shows the path and status, not the terms
    log.seek(0)
    text = log.read()
    assert '"GET /api/v1/customers HTTP/1.1" 401' in text, text
    assert "13800138000" not in text and "secret.person" not in text
