"""Engagement figures (issue 15), each on its own fresh database, the emails delivered over
SMTP to a local aiosmtpd sink run by this process (which counts what arrives, by
Message-ID):

  campaign_sqlite  a 100,000-recipient email campaign (HTML template: sanitised, CSS
                   inlined, links rewritten for tracking, List-Unsubscribe) on SQLite with
                   two workers: minutes from launch until the sink has every message,
                   target <= 10
  campaign_pg      the same on PostgreSQL with two workers: messages/s, target >= 200
  kills            10,000 recipients while the two workers are killed (SIGKILL) 20 times
                   at random moments: lost (a recipient nothing reached) must be 0; doubled
                   (deliveries at the sink beyond one per Message-ID) is counted — SMTP has
                   no idempotency, so a worker killed after the server accepted the message
                   and before the outbox recorded it sends it again (same Message-ID)
  kills_pg         the same on PostgreSQL (the window between the server's 250 and the
                   record is shorter without SQLite's one-writer lock)
  held             1,000 messages queued inside quiet hours that end 20 s later: seconds
                   from the end of the window until the last is delivered, target <= 60

Every customer has an email address and marketing consent (so every message should go);
the send policy, the outbox and the SMTP provider are the product's own. The workers run
the product's work handlers in a loop (bench/automation_worker.py), as `guanxi worker`.

Prints one JSON object per figure; the campaign figures are the median of --repeat runs.

    python bench/engagement.py [--phase NAME] [--repeat 3] [--recipients 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from automation import emit, start_worker, stop  # noqa: E402

PHASES = ("held", "kills", "kills_pg", "campaign_sqlite", "campaign_pg")
PG_URL = os.environ.get("GUANXI_BENCH_PG", "postgres://postgres@127.0.0.1:5432/")
QUEUES = "engagement.campaign,engagement.send"
MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


class Sink:
    """An SMTP server that keeps the Message-ID of everything it accepts."""

    def __init__(self) -> None:
        self.ids: list[bytes] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        found = MESSAGE_ID.search(envelope.content)
        with self.lock:
            self.ids.append(found.group(1) if found else b"")
        return "250 OK"


def start_sink() -> tuple[Sink, Any, int]:
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    return sink, controller, port


def setup(var: str, database_url: str | None = None) -> Any:
    os.environ.update({"GUANXI_VAR_DIR": var,
                       "DATABASE_URL": database_url or f"sqlite:///{var}/bench.sqlite3",
                       "DJANGO_SETTINGS_MODULE": "guanxi.config.settings",
                       "GUANXI_PUBLIC_URL": "https://crm.example.com"})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from guanxi.accounts.models import User

    return User.objects.create(username="bench", is_superuser=True, role="admin")


def fresh_pg(name: str) -> str:
    import psycopg

    with psycopg.connect(PG_URL + "postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_URL + name


def insert_recipients(n: int) -> list[int]:
    """n customers with an email address and marketing consent by email (a bench
    fixture: rows straight into the tables, as an import of consented customers would
    leave them)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from guanxi.core.bulk import insert_rows

    stamp = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as c:
        c.execute("SELECT COALESCE(MAX(id), 0) FROM customers_customer")
        first = int(c.fetchone()[0]) + 1
    ids = list(range(first, first + n))
    for start in range(0, n, 20000):
        part = ids[start:start + 20000]
        with transaction.atomic():
            insert_rows("customers_customer", (
                "id", "created_at", "updated_at", "family_name", "given_name",
                "display_name", "gender", "birthday", "lunar_birthday", "region",
                "region_code", "occupation", "preferred_language", "preferred_channel",
                "source", "attributes", "version"),
                [(i, stamp, stamp, "客", f"户{i}", f"客户{i}",
                  "female" if i % 2 else "male", None, False, "浙江省杭州市", "", "",
                  "zh-hans", "email", "web", "{}", 1) for i in part])
            insert_rows("customers_identity", (
                "id", "customer_id", "kind", "system", "value", "verified", "is_primary",
                "created_at"),
                [(i, i, "email", "", f"c{i}@example.com", True, True, stamp) for i in part])
            insert_rows("customers_consent", (
                "id", "customer_id", "channel", "purpose", "granted", "changed_at", "source",
                "notice", "proof", "recorded_by_id"),
                [(i, i, "email", "marketing", True, stamp, "bench", "", "", None)
                 for i in part])
    return ids


HTML = ("<style>p { color: #333; } .cta { font-weight: bold; }</style>"
        "<p>{{ customer.salutation }}，您好！</p><p>中秋礼盒上新，老客专享第二件半价。</p>"
        '<p class="cta"><a href="https://shop.example.com/box">看看礼盒</a></p>'
        '<p><a href="https://shop.example.com/guide">冲泡指南</a></p>')


def email_setup(actor: Any, port: int, *, quiet: tuple[str, str] = ("00:00", "00:00")
                ) -> Any:
    from guanxi.engagement.services import TextInput, channel_setup_save, template_save

    channel_setup_save(actor=actor, channel="email", provider_name="smtp",
                       config={"host": "127.0.0.1", "port": port,
                               "from_email": "shop@longjing.example", "from_name": "龙井茶庄"},
                       rate_per_second=10000, quiet_start=quiet[0], quiet_end=quiet[1])
    return template_save(actor=actor, name="中秋礼盒", channel="email", purpose="marketing",
                         texts=[TextInput("zh-hans", "{{ customer.salutation }}，中秋礼盒上新："
                                          "https://shop.example.com/box",
                                          subject="中秋礼盒上新", html=HTML)])


def campaign(actor: Any, template: Any, name: str) -> Any:
    from guanxi.analytics.services import segment_save
    from guanxi.engagement.campaigns import VariantInput, campaign_launch, campaign_save

    segment = segment_save(actor=actor, name=f"{name} audience",
                           rules={"field": "source", "operator": "equals", "value": "web"})
    made = campaign_save(actor=actor, name=name, segment_id=segment.pk, holdout_percent=0,
                         variants=[VariantInput(template.pk, 100)])
    return campaign_launch(actor=actor, campaign=made)


def wait_for(sink: Sink, n: int, timeout: float, *, kill: Any = None) -> float:
    started = time.monotonic()
    while len(sink.ids) < n and time.monotonic() - started < timeout:
        time.sleep(0.2)
        if kill is not None:
            kill()
    return time.monotonic() - started


def _campaign_run(args: argparse.Namespace, database_url: str | None, var: str
                  ) -> dict[str, Any]:
    actor = setup(var, database_url)
    from django.db import connection

    n = args.recipients
    insert_recipients(n)
    with connection.cursor() as c:
        c.execute("ANALYZE")
    sink, controller, port = start_sink()
    template = email_setup(actor, port)
    workers = [start_worker(QUEUES) for _ in range(2)]
    try:
        started = time.monotonic()
        campaign(actor, template, "bench")
        took = wait_for(sink, n, args.timeout)
    finally:
        stop(workers)
        controller.stop()
    got = len(sink.ids)
    return {"seconds": took, "delivered": got, "distinct": len(set(sink.ids)),
            "rate": got / took, "started": started}


def _repeat_campaign(args: argparse.Namespace, pg: bool) -> list[dict[str, Any]]:
    runs = []
    for r in range(args.repeat):
        with tempfile.TemporaryDirectory() as var:
            url = fresh_pg(f"guanxi_bench_engagement_{r}") if pg else None
            out = subprocess.run([sys.executable, __file__, "--phase", "_one", "--var", var,
                                  "--url", url or "", "--recipients", str(args.recipients),
                                  "--timeout", str(args.timeout)],
                                 check=True, capture_output=True, text=True)
            line = out.stdout.strip().splitlines()[-1]
            runs.append(eval(line))  # noqa: S307 - our own child's repr of a dict
    return runs


def phase_campaign_sqlite(args: argparse.Namespace) -> None:
    runs = _repeat_campaign(args, pg=False)
    minutes = statistics.median(r["seconds"] for r in runs) / 60
    emit("campaign_100k_email_sqlite", round(minutes, 2), "minutes", target=10,
         recipients=args.recipients, workers=2,
         delivered=[r["delivered"] for r in runs], doubled=[r["delivered"] - r["distinct"]
                                                           for r in runs],
         runs=[round(r["seconds"] / 60, 2) for r in runs],
         rate=round(statistics.median(r["rate"] for r in runs), 1))


def phase_campaign_pg(args: argparse.Namespace) -> None:
    runs = _repeat_campaign(args, pg=True)
    emit("campaign_100k_email_pg", round(statistics.median(r["rate"] for r in runs), 1),
         "messages/s", target=200, recipients=args.recipients, workers=2,
         delivered=[r["delivered"] for r in runs], doubled=[r["delivered"] - r["distinct"]
                                                           for r in runs],
         runs=[round(r["rate"], 1) for r in runs])


def phase__one(args: argparse.Namespace) -> None:
    out = _campaign_run(args, args.url or None, args.var)
    print(repr(out), flush=True)


def phase_kills(args: argparse.Namespace) -> None:
    pg = args.kill_database == "postgres"
    actor = setup(args.var, fresh_pg("guanxi_bench_engagement_kills") if pg else None)
    from guanxi.engagement.models import OUT, Message, MessageStatus

    n = args.kill_recipients
    insert_recipients(n)
    sink, controller, port = start_sink()
    template = email_setup(actor, port)
    workers = [start_worker(QUEUES) for _ in range(2)]
    rng = random.Random(15)
    kills = [0]
    next_kill = [time.monotonic() + rng.uniform(0.5, 3.0)]

    def kill() -> None:
        if kills[0] >= 20 or time.monotonic() < next_kill[0]:
            return
        victim = rng.choice(workers)
        workers.remove(victim)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        kills[0] += 1
        workers.append(start_worker(QUEUES))
        next_kill[0] = time.monotonic() + rng.uniform(0.5, 3.0)

    try:
        campaign(actor, template, "kills")
        took = wait_for(sink, n, args.timeout, kill=kill)
        # the last kills' leases run out and those messages are sent again: wait for quiet
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and Message.objects.exclude(
                status__in=[s for s in OUT if s != MessageStatus.SENDING]).exists():
            time.sleep(0.5)
        time.sleep(2)
    finally:
        stop(workers)
        controller.stop()
    counts = Counter(sink.ids)
    keys = set(Message.objects.values_list("key", flat=True))
    from guanxi.engagement.outbox import message_id

    expected = {message_id(k, "shop@longjing.example").encode() for k in keys}
    lost = len(expected - set(counts))
    doubled = sum(v - 1 for v in counts.values() if v > 1)
    db = "postgres" if pg else "sqlite"
    emit(f"engagement_kills_lost_{db}", lost, "messages", target=0, recipients=n,
         kills=kills[0], seconds=round(took, 1))
    emit(f"engagement_kills_doubled_at_sink_{db}", doubled, "deliveries", target=0,
         distinct_message_ids=len(counts), total_deliveries=len(sink.ids),
         unexpected=len(set(counts) - expected),
         note="a double can only be a worker killed between the SMTP server's 250 and the "
              "outbox's record; it carries the same Message-ID")


def phase_kills_pg(args: argparse.Namespace) -> None:
    args.kill_database = "postgres"
    phase_kills(args)


def phase_held(args: argparse.Namespace) -> None:
    actor = setup(args.var)
    from django.conf import settings
    from django.utils import timezone

    from guanxi.engagement.models import Message, MessageStatus
    from guanxi.engagement.outbox import Draft, queue_messages

    n = 1000
    ids = insert_recipients(n)
    sink, controller, port = start_sink()
    from zoneinfo import ZoneInfo

    local = timezone.now().astimezone(ZoneInfo(settings.TIME_ZONE))
    end_at = (local + dt.timedelta(seconds=80)).replace(second=0, microsecond=0)
    start = (end_at - dt.timedelta(minutes=5)).time()
    template = email_setup(actor, port, quiet=(start.strftime("%H:%M"),
                                               end_at.strftime("%H:%M")))
    workers = [start_worker(QUEUES) for _ in range(2)]
    try:
        queue_messages([Draft(key=f"held:{cid}", customer_id=cid, channel="email",
                              purpose="marketing", origin="staff", template_id=template.pk)
                        for cid in ids])
        time.sleep(3)
        held = Message.objects.filter(status=MessageStatus.HELD).count()
        early = len(sink.ids)
        wait_s = (end_at - timezone.now()).total_seconds()
        wait_for(sink, n, wait_s + 300)
    finally:
        stop(workers)
        controller.stop()
    last = max(Message.objects.values_list("sent_at", flat=True))
    first = min(Message.objects.values_list("sent_at", flat=True))
    emit("engagement_held_out_after_window", round((last - end_at).total_seconds(), 1), "s",
         target=60, messages=n, held=held, delivered=len(sink.ids),
         delivered_inside_window=early,
         first_after_window_s=round((first - end_at).total_seconds(), 1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--phase", choices=(*PHASES, "_one"))
    ap.add_argument("--var")
    ap.add_argument("--url", default="")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--recipients", type=int, default=100_000)
    ap.add_argument("--kill-recipients", type=int, default=10_000)
    ap.add_argument("--kill-database", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--timeout", type=int, default=1800)
    args, _rest = ap.parse_known_args()
    if args.phase and (args.var or args.phase.startswith("campaign")):
        os.chdir(ROOT)
        globals()[f"phase_{args.phase}"](args)
        return
    for phase in ([args.phase] if args.phase else PHASES):
        if phase.startswith("campaign"):
            subprocess.run([sys.executable, __file__, "--phase", phase, *sys.argv[1:]],
                           check=True)
            continue
        with tempfile.TemporaryDirectory() as var:
            subprocess.run([sys.executable, __file__, "--phase", phase, "--var", var,
                            *sys.argv[1:]], check=True)


if __name__ == "__main__":
    main()
