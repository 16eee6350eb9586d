"""Server time of every main page at demo scale (issue 13: p95 < 150 ms on every page).

Sets up the demo in a temporary directory, serves it, signs in as the administrator and
requests each page --requests times (after a warm-up), --repeat runs; prints one JSON
object per page: the median over runs of the p95 of the time to the last byte."""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from webclient import sign_in, wait_healthy

ROOT = Path(__file__).resolve().parents[1]
GUANXI = [sys.executable, "-m", "guanxi"]
PASSWORD = "Bench-pages-2026!"  # noqa: S105 - a throwaway demo in a temporary directory
PAGES = ["/", "/customers/", "/customers/?sort=name&region=33", "/customers/{customer}/",
         "/customers/{customer}/edit/", "/customers/new/", "/analytics/",
         "/analytics/segments/", "/quality/imports/", "/quality/duplicates/", "/audit/",
         "/privacy/", "/settings/", "/accounts/staff/", "/accounts/security/",
         "/customers/products/", "/customers/companies/", "/search/?q=zhang"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as var:
        env = {**os.environ, "GUANXI_VAR_DIR": var, "GUANXI_ADMIN_PASSWORD": PASSWORD,
               "DATABASE_URL": f"sqlite:///{var}/guanxi.sqlite3",
               "GUANXI_ALLOWED_HOSTS": "127.0.0.1"}
        subprocess.run([*GUANXI, "demo", "--no-serve"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        port = _port()
        server = subprocess.Popen([*GUANXI, "serve", "--bind", f"127.0.0.1:{port}",
                                   "--workers", "2", "--threads", "2"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(base_url=base, timeout=60) as client:
                wait_healthy(client)
                sign_in(client, base, PASSWORD)
                customer = "1"
                for path in PAGES:
                    url = path.replace("{customer}", customer)
                    for _ in range(5):
                        r = client.get(url)  # warm-up
                    if r.status_code != 200:
                        raise SystemExit(f"{url}: HTTP {r.status_code}")
                    runs = []
                    for _ in range(args.repeat):
                        times = []
                        for _ in range(args.requests):
                            start = time.perf_counter()
                            client.get(url).raise_for_status()
                            times.append((time.perf_counter() - start) * 1000)
                        runs.append(p95(times))
                    print(json.dumps({"name": f"page_p95 {path}",
                                      "value": round(statistics.median(runs), 1),
                                      "unit": "ms", "customers": 410,
                                      "runs": [round(v, 1) for v in runs]}), flush=True)
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
