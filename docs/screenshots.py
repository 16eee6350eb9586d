"""Screenshots of the main pages in both languages, desktop and phone, for the README:
`make screenshots` (needs Debian's chromium, and fonts-noto-cjk for the Chinese pages).

It sets up its own demo in a temporary directory (the demo data, the admin's password
from this script), serves it on a free port, signs in and saves
docs/screenshots/<page>-<language>[-phone].png."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
GUANXI = [sys.executable, "-m", "guanxi"]
PASSWORD = "Screenshots-2026!"
PAGES = [("home", "/"), ("customers", "/customers/?sort=-created"),
         ("customer", "/customers/{customer}/"), ("analytics", "/analytics/"),
         ("segments", "/analytics/segments/"), ("settings", "/settings/")]
CHROMIUM = os.environ.get("GUANXI_CHROMIUM", "/usr/bin/chromium")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as var:
        env = {**os.environ, "GUANXI_VAR_DIR": var, "GUANXI_ADMIN_PASSWORD": PASSWORD,
               "DATABASE_URL": f"sqlite:///{var}/guanxi.sqlite3"}
        env.pop("GUANXI_TEST_SQLITE", None)
        subprocess.run([*GUANXI, "demo", "--no-serve"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        port = _port()
        server = subprocess.Popen([*GUANXI, "serve", "--bind", f"127.0.0.1:{port}"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(150):
                try:
                    urllib.request.urlopen(base + "/healthz", timeout=2)  # noqa: S310
                    break
                except OSError:
                    time.sleep(0.2)
            shoot(base)
        finally:
            server.terminate()
            server.wait(timeout=30)


def shoot(base: str) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        for language in ("zh-hans", "en"):
            for phone in (False, True):
                size = {"width": 390, "height": 844} if phone else {"width": 1366,
                                                                    "height": 900}
                context = browser.new_context(viewport=size, device_scale_factor=1,
                                              locale="zh-CN" if language == "zh-hans"
                                              else "en-US")
                page = context.new_page()
                page.goto(base + "/accounts/login/")
                page.fill("input[name=username]", "admin")
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_load_state("load")
                if page.locator("html").get_attribute("lang") != language:
                    page.select_option("[data-testid=language]", language)
                    page.wait_for_load_state("load")
                page.goto(base + "/customers/?sort=-created")
                customer = page.locator("[data-row-link]").first.get_attribute("href")
                for name, path in PAGES:
                    page.goto(base + path.replace("/customers/{customer}/", customer or "/"))
                    page.wait_for_load_state("networkidle")
                    page.wait_for_timeout(800)  # chart animations
                    target = OUT / f"{name}-{language}{'-phone' if phone else ''}.png"
                    page.screenshot(path=str(target), full_page=not phone)
                    print(target.relative_to(ROOT))
                context.close()
        browser.close()


if __name__ == "__main__":
    main()
