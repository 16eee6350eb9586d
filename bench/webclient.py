"""What the HTTP benchmarks share: wait for a started server, sign in as the admin."""

from __future__ import annotations

import time

import httpx


def wait_healthy(client: httpx.Client, tries: int = 150) -> None:
    for _ in range(tries):
        try:
            client.get("/healthz")
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit("the server did not start")


def sign_in(client: httpx.Client, base: str, password: str, username: str = "admin") -> None:
    client.get("/accounts/login/")
    r = client.post("/accounts/login/", data={
        "username": username, "password": password,
        "csrfmiddlewaretoken": client.cookies["csrftoken"]},
        headers={"Referer": base + "/accounts/login/"})
    if "sessionid" not in client.cookies:
        raise SystemExit(f"login failed: HTTP {r.status_code}")
