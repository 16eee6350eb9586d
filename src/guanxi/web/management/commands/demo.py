from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import urllib.request
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone

from guanxi.accounts.management.commands.createadmin import ensure_admin
from guanxi.core.management.commands.serve import gunicorn_argv

# A process that dies this soon after its start is failing, not crashing once: wait a
# little longer before each new start instead of restarting it in a tight loop.
QUICK_DEATH_S = 10
MAX_BACKOFF_S = 30


class Supervised:
    """One child process, started again whenever it dies."""

    def __init__(self, name: str, argv: list[str], sleep=time.sleep) -> None:
        self.name, self.argv, self.sleep = name, argv, sleep
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.backoff = 1.0
        self.restarts = 0

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv)
        self.started_at = time.monotonic()

    def check(self, say) -> None:
        if self.proc is None or self.proc.poll() is None:
            return
        code = self.proc.returncode
        quick = time.monotonic() - self.started_at < QUICK_DEATH_S
        self.backoff = min(self.backoff * 2, MAX_BACKOFF_S) if quick else 1.0
        say(f"The {self.name} stopped (exit code {code}); starting it again"
            + (f" in {self.backoff:.0f} s." if quick else "."))
        if quick:
            self.sleep(self.backoff)
        self.restarts += 1
        self.start()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()

    def wait(self) -> None:
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _wait_until_up(url: str, timeout_s: float = 60) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own address
                return True
        except OSError:
            time.sleep(0.3)
    return False


class Command(BaseCommand):
    def _load_demo(self, admin: Any, password: str | None) -> None:
        """The demo data, once; scored twice (two months ago and now) so the 360 pages
        show stages and value and the stage flows have history; example segments."""
        from guanxi.analytics.services import demo_segments, scores_refresh
        from guanxi.customers.demo import STAFF, demo_load

        loaded = demo_load(admin=admin, password=password)
        if loaded is None:
            self.stdout.write("Demo data already loaded; nothing added.")
            return
        self.stdout.write(self.style.SUCCESS(
            "Loaded demo data: {customers} customers, {orders} orders, "
            "{events} events.".format(**loaded)))
        if password:
            names = ", ".join(s[0] for s in STAFF)
            self.stdout.write(f"  Demo staff ({names}) share the admin's password.")
        scores_refresh(actor=admin, as_of=timezone.now() - dt.timedelta(days=60))
        scored = scores_refresh(actor=admin)
        segments = demo_segments(actor=admin)
        from guanxi.automation.demo import demo_automations
        from guanxi.engagement.demo import demo_engagement

        automations = demo_automations(actor=admin)
        messaging = demo_engagement(actor=admin)
        automations += messaging["automations"]
        from guanxi.servicedesk.demo import demo_servicedesk

        desk = demo_servicedesk(actor=admin)
        automations += desk["automations"]
        self.stdout.write(f"  Service desk: {desk['tickets']} tickets, "
                          f"{desk['articles']} help-centre articles.")
        from guanxi.loyalty.demo import demo_loyalty

        loyalty = demo_loyalty(actor=admin)
        automations += loyalty["automations"]
        self.stdout.write(f"  Loyalty: {loyalty['members']} members, "
                          f"{loyalty['points']} points from their orders.")
        self.stdout.write(f"  Scored {scored['customers']} customers; "
                          f"{segments} example segments; {automations} automations; "
                          f"{messaging['templates']} message templates and "
                          f"{messaging['campaigns']} campaign (channels send to the log "
                          "only until set up in Settings).")

    help = ("Migrate, create an admin, load demo data once, then serve web and worker "
            "on http://127.0.0.1:8000 until interrupted; a server that stops is started "
            "again.")

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("GUANXI_BIND", "127.0.0.1:8000"))
        parser.add_argument("--no-serve", action="store_true",
                            help="set everything up but do not start the servers")

    def handle(self, *args, bind, no_serve, **options):
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database ready.")
        admin, password = ensure_admin(self)
        self._load_demo(admin, password)
        if no_serve:
            return
        children = [Supervised("web server", gunicorn_argv(bind, 2, 4)),
                    Supervised("worker", [sys.executable, "-m", "guanxi", "worker"])]
        for child in children:
            child.start()
        running = True

        def stop(*_):
            nonlocal running
            running = False

        signal.signal(signal.SIGTERM, stop)
        # Last, once the web server answers: the line people look for.
        if _wait_until_up(f"http://{bind}/healthz"):
            self.stdout.write(self.style.SUCCESS(
                f"Guanxi is running on http://{bind}/ — sign in as 'admin' (web + worker; "
                "Ctrl-C stops both)."))
        try:
            while running:
                for child in children:
                    child.check(lambda text: self.stderr.write(text))
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for child in children:
                child.stop()
            for child in children:
                child.wait()
