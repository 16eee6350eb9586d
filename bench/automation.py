"""Automation and webhook figures (issue 14), each on its own fresh SQLite database:

  exactly_once   10,000 customers in an automation with waits and a branch, run by two
                 workers that are killed (SIGKILL) 20 times at random moments: every
                 step's action counted from the action side (an action with no
                 idempotency of its own) — lost and doubled must both be 0
  latency        event appended -> first action done, p95, while 2,000 events/s are
                 ingested (5 % of them trigger the automation), target <= 5 s
  date_scan      the daily date-trigger scan over 1,000,000 customers (solar and lunar
                 birthdays, first-purchase anniversaries, a festival), target <= 30 s
  lunar          festival dates 1901-2099: lunar-python against borax
  webhooks       deliveries per second by one worker to a local receiver (>= 100/s), and
                 an endpoint answering 500s and timeouts receiving each message once when
                 it recovers

Prints one JSON object per figure; timing figures are the median of --repeat runs.

    python bench/automation.py [--phase NAME] [--repeat 3] [--customers 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
PHASES = ("lunar", "webhooks", "latency", "exactly_once", "date_scan")


def emit(name: str, value: Any, unit: str, **extra: Any) -> None:
    print(json.dumps({"name": name, "value": value, "unit": unit, **extra},
                     ensure_ascii=False), flush=True)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


# --- set-up of one phase's database ------------------------------------------------------

def setup(var: str) -> Any:
    os.environ.update({"GUANXI_VAR_DIR": var, "DATABASE_URL": f"sqlite:///{var}/bench.sqlite3",
                       "DJANGO_SETTINGS_MODULE": "guanxi.config.settings"})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    sys.path.insert(0, str(HERE))
    from automation_count import register

    register()
    from guanxi.accounts.models import User

    return User.objects.create(username="bench", is_superuser=True, role="admin")


REGIONS = ["浙江省杭州市", "上海市", "北京市", "广东省深圳市", "浙江省宁波市", "江苏省南京市",
           "四川省成都市", "湖北省武汉市", "Berlin", "山东省青岛市"]


def insert_customers(n: int, *, seed: int = 7, orders: bool = False) -> None:
    """n customers straight into the table (a bench fixture, not the product's path):
    75 % with a birthday, a tenth of those kept on the lunar calendar; with `orders`, 70 %
    with a first paid order in the last five years."""
    import datetime as dt

    from django.db import connection, transaction
    from django.utils import timezone

    from guanxi.core.bulk import insert_rows

    rng = random.Random(seed)
    adapt = connection.ops.adapt_datetimefield_value
    now = timezone.now()
    stamp = adapt(now)
    start = dt.date(1950, 1, 1)
    batch: list[tuple[Any, ...]] = []
    order_rows: list[tuple[Any, ...]] = []
    with connection.cursor() as c:
        c.execute("SELECT COALESCE(MAX(id), 0) FROM customers_customer")
        first = int(c.fetchone()[0]) + 1
    for i in range(first, first + n):
        birthday = (start + dt.timedelta(days=rng.randrange(365 * 55))).isoformat() \
            if rng.random() < 0.75 else None
        lunar = birthday is not None and rng.random() < 0.1
        batch.append((i, stamp, stamp, "客", f"户{i}", f"客户{i}", "unknown", birthday,
                      lunar, rng.choice(REGIONS), "", "", "zh-hans", "", "other", "{}", 1))
        if orders and rng.random() < 0.7:
            placed = now - dt.timedelta(days=rng.randrange(5 * 365), hours=rng.randrange(24))
            order_rows.append((stamp, stamp, i, f"B{i}", "shop", "", "CNY", "paid", "100.00",
                               adapt(placed)))
        if len(batch) >= 20000:
            _flush(batch, order_rows, insert_rows, transaction)
            batch, order_rows = [], []
    _flush(batch, order_rows, insert_rows, transaction)


def _flush(batch: list, order_rows: list, insert_rows: Any, transaction: Any) -> None:
    with transaction.atomic():
        insert_rows("customers_customer", (
            "id", "created_at", "updated_at", "family_name", "given_name", "display_name",
            "gender", "birthday", "lunar_birthday", "region", "region_code", "occupation",
            "preferred_language", "preferred_channel", "source", "attributes", "version"),
            batch)
        insert_rows("customers_order", (
            "created_at", "updated_at", "customer_id", "external_id", "channel", "store",
            "currency", "status", "total", "placed_at"), order_rows)


def publish(actor: Any, name: str, steps: list, **kw: Any) -> Any:
    from guanxi.automation.services import automation_publish, automation_save

    automation = automation_save(actor=actor, name=name, steps=steps, **kw)
    automation_publish(actor=actor, automation=automation)
    return automation


def start_worker(queues: str, *, tick: bool = False) -> subprocess.Popen[str]:
    argv = [sys.executable, str(HERE / "automation_worker.py"), queues]
    if tick:
        argv.append("--tick")
    proc = subprocess.Popen(argv, env=os.environ.copy(), text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    proc.stdout.readline()  # "ready"
    return proc


def stop(workers: list[subprocess.Popen[str]]) -> None:
    for w in workers:
        w.kill()
        w.wait()


# --- phases ------------------------------------------------------------------------------

def phase_exactly_once(args: argparse.Namespace) -> None:
    actor = setup(args.var)
    from django.db.models import Count

    from guanxi.audit.models import AuditEntry
    from guanxi.automation.engine import enrol_many
    from guanxi.automation.models import FINISHED, Run

    n = args.runs
    insert_customers(n)
    count = {"type": "action", "action": "bench.count"}
    automation = publish(actor, "exactly once", [
        {**count, "id": "c1", "config": {"step": "c1"}},
        {"id": "w1", "type": "wait", "minutes": 1},
        {"id": "br", "type": "branch", "else": "c3",
         "rules": {"field": "region", "operator": "contains", "value": "浙江"}},
        {**count, "id": "c2", "config": {"step": "c2"}},
        {"id": "x", "type": "exit"},
        {**count, "id": "c3", "config": {"step": "c3"}},
        {"id": "w2", "type": "wait", "minutes": 1},
        {**count, "id": "c4", "config": {"step": "c4"}},
    ], trigger="timeline.event", trigger_config={"kind": "note"})
    from guanxi.customers.models import Customer

    ids = list(Customer.objects.values_list("pk", flat=True))
    zhejiang = set(Customer.objects.filter(region__contains="浙江").values_list("pk", flat=True))
    started = time.monotonic()
    enrol_many(automation.live, ids)
    workers = [start_worker("automation.step") for _ in range(2)]
    rng = random.Random(11)
    kills = 0
    deadline = time.monotonic() + args.timeout
    try:
        while time.monotonic() < deadline:
            left = Run.objects.exclude(status__in=FINISHED).count()
            if not left:
                break
            time.sleep(rng.uniform(0.5, 4.0))
            if kills < 20:
                victim = rng.choice(workers)
                workers.remove(victim)
                victim.send_signal(signal.SIGKILL)
                victim.wait()
                kills += 1
                workers.append(start_worker("automation.step"))
    finally:
        stop(workers)
    took = time.monotonic() - started
    expected = {(str(c), "c1") for c in ids}
    expected |= {(str(c), "c2") for c in ids if c in zhejiang}
    expected |= {(str(c), s) for c in ids if c not in zhejiang for s in ("c3", "c4")}
    done = {}
    for row in (AuditEntry.objects.filter(action="bench.count")
                .values("object_id", "extra__step").annotate(n=Count("pk"))):
        done[(row["object_id"], row["extra__step"])] = row["n"]
    lost = len(expected - set(done))
    doubled = sum(v - 1 for v in done.values() if v > 1)
    unexpected = len(set(done) - expected)
    emit("automation_exactly_once_lost", lost, "actions", target=0, customers=n,
         kills=kills, actions_expected=len(expected), seconds=round(took, 1))
    emit("automation_exactly_once_doubled", doubled + unexpected, "actions", target=0,
         customers=n, kills=kills)
    emit("automation_steps_per_s", round(len(expected) / took, 1), "actions/s",
         note="two workers, SQLite, 1-minute waits included")


def phase_latency(args: argparse.Namespace) -> None:
    actor = setup(args.var)
    from django.utils import timezone

    from guanxi.automation.models import ActionDone
    from guanxi.customers.models import Customer, Event
    from guanxi.timeline.services import NewEvent, events_append_many

    insert_customers(2000)
    publish(actor, "latency", [{"id": "c1", "type": "action", "action": "bench.count",
                                "config": {"step": "c1"}}],
            trigger="timeline.event", trigger_config={"kind": "custom.bench_ping"},
            reentry="always")
    ids = list(Customer.objects.values_list("pk", flat=True))
    from guanxi.automation.triggers import read_events

    read_events()  # the cursor starts here
    workers = [start_worker("automation.step", tick=True)]
    rng = random.Random(5)
    rate, seconds, per_tick = args.rate, args.seconds, 0.1
    sent = 0
    started = time.monotonic()
    try:
        while time.monotonic() - started < seconds:
            tick_start = time.monotonic()
            now = timezone.now()
            batch = []
            # catch up to the rate (an insert that waited for the write lock is made up)
            due = int(rate * (tick_start - started + per_tick)) - sent
            for i in range(max(0, due)):
                n = sent + i
                if n % 20 == 0:  # a trigger, for the next customer in turn
                    batch.append(NewEvent(customer_id=ids[(n // 20) % len(ids)],
                                          kind="custom.bench_ping", occurred_at=now,
                                          data={"n": n}))
                else:
                    batch.append(NewEvent(customer_id=rng.choice(ids), kind="page_viewed",
                                          occurred_at=now, data={"n": n}))
            events_append_many(batch)
            sent += len(batch)
            time.sleep(max(0.0, per_tick - (time.monotonic() - tick_start)))
        ingest_s = time.monotonic() - started
        pings = Event.objects.filter(kind="custom.bench_ping").count()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and ActionDone.objects.count() < pings:
            time.sleep(0.5)
    finally:
        stop(workers)
    recorded = dict(Event.objects.filter(kind="custom.bench_ping")
                    .values_list("pk", "recorded_at"))
    latencies = []
    for run_key, done_at in ActionDone.objects.values_list("run__trigger_key", "at"):
        event_id = int(run_key.split(":")[1])
        latencies.append((done_at - recorded[event_id]).total_seconds())
    missing = len(recorded) - len(latencies)
    emit("automation_event_to_action_p95", round(p95(latencies), 2), "s", target=5,
         ingest_rate=round(sent / ingest_s), triggers=len(recorded), missing=missing,
         median=round(statistics.median(latencies), 2) if latencies else None)


def phase_date_scan(args: argparse.Namespace) -> None:
    actor = setup(args.var)
    import datetime as dt

    from django.db import connection

    from guanxi.automation.models import Run
    from guanxi.automation.triggers import scan_dates
    from guanxi.core.models import WorkItem

    t0 = time.monotonic()
    insert_customers(args.customers, orders=True)
    with connection.cursor() as c:
        c.execute("ANALYZE")
    seeded = time.monotonic() - t0
    step = [{"id": "c1", "type": "action", "action": "bench.count", "config": {"step": "c1"}}]
    publish(actor, "birthday", step, trigger="automation.date",
            trigger_config={"date": "birthday", "time": "09:00"}, reentry="always")
    publish(actor, "first purchase", step, trigger="automation.date",
            trigger_config={"date": "first_purchase", "time": "10:00"}, reentry="always")
    publish(actor, "mid-autumn", step, trigger="automation.date",
            trigger_config={"date": "festival", "festival": "mid_autumn", "time": "09:00"},
            conditions={"field": "region", "operator": "contains", "value": "浙江"},
            reentry="always")
    day = dt.date(2026, 9, 25)  # Mid-Autumn Festival 2026
    times, entered = [], 0
    for _ in range(args.repeat):
        Run.objects.all().delete()
        WorkItem.objects.all().delete()
        started = time.monotonic()
        entered = scan_dates(day)
        times.append(time.monotonic() - started)
    emit("automation_date_scan_1m", round(statistics.median(times), 1), "s", target=30,
         customers=args.customers, entered=entered, runs=[round(t, 1) for t in times],
         seed_s=round(seeded, 1))


def phase_lunar(args: argparse.Namespace) -> None:
    setup(args.var)
    from borax.calendars.festivals2 import FestivalLibrary
    from borax.calendars.lunardate import LunarDate

    from guanxi.automation.calendar import festival_date

    lunar = {"spring_festival": (1, 1), "lantern": (1, 15), "dragon_boat": (5, 5),
             "qixi": (7, 7), "mid_autumn": (8, 15), "double_ninth": (9, 9)}
    eve = FestivalLibrary.load_builtin().get_festival("除夕")
    total, differ = 0, []
    for year in range(1901, 2100):
        for code, (m, d) in lunar.items():
            total += 1
            if festival_date(code, year) != LunarDate(year, m, d).to_solar_date():
                differ.append(f"{code} {year}")
        total += 1
        if festival_date("new_years_eve", year) != eve.at(year - 1).to_solar_date():
            differ.append(f"new_years_eve {year}")
    emit("lunar_festivals_agree_1901_2099", total - len(differ), "dates", total=total,
         differ=differ, reference="borax 4.1.3")


class Receiver(BaseHTTPRequestHandler):
    """200 by default; with `plan` set, the answers for each message id's first tries."""

    got: dict[str, list[int]] = {}
    plan: list[Any] = []
    lock = threading.Lock()

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        self.rfile.read(length)
        mid = self.headers.get("webhook-id", "")
        with self.lock:
            tries = self.got.setdefault(mid, [])
            step = self.plan[len(tries)] if len(tries) < len(self.plan) else 200
            tries.append(200 if step == 200 else (599 if step == "slow" else step))
        if step == "slow":
            time.sleep(2.0)
        self.send_response(200 if step == "slow" else step)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


def phase_webhooks(args: argparse.Namespace) -> None:
    setup(args.var)
    from django.utils import timezone

    from guanxi.core.models import WorkItem, WorkState
    from guanxi.integrations import webhooks
    from guanxi.integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    endpoint = WebhookEndpoint.objects.create(name="bench", url=url, allow_private=True,
                                              secret=webhooks.new_secret())
    insert_customers(10)
    rates = []
    for r in range(args.repeat):
        Receiver.got, Receiver.plan = {}, []
        n = args.deliveries
        for i in range(n):
            webhooks.delivery_create(endpoint, message_id=f"msg_{r}_{i}", event_type="bench",
                                     payload={"i": i, "data": {"x": "y" * 200}})
        workers = [start_worker("integrations.deliver")]
        started = time.monotonic()
        while WebhookDelivery.objects.filter(status=DeliveryStatus.DELIVERED,
                                             message_id__startswith=f"msg_{r}_").count() < n:
            time.sleep(0.1)
        took = time.monotonic() - started
        stop(workers)
        rates.append(n / took)
    emit("webhook_deliveries_per_s", round(statistics.median(rates), 1), "deliveries/s",
         target=100, workers=1, runs=[round(x, 1) for x in rates])
    # a receiver down: 500, a timeout, 503, 500, then up; time between tries compressed
    os.environ["GUANXI_WEBHOOK_TIMEOUT_S"] = "1"  # the workers started from here on
    Receiver.got, Receiver.plan = {}, [500, "slow", 503, 500]
    n = 200
    for i in range(n):
        webhooks.delivery_create(endpoint, message_id=f"down_{i}", event_type="bench",
                                 payload={"i": i})
    workers = [start_worker("integrations.deliver")]
    deadline = time.monotonic() + 600
    try:
        while time.monotonic() < deadline and WebhookDelivery.objects.filter(
                message_id__startswith="down_", status=DeliveryStatus.DELIVERED).count() < n:
            WorkItem.objects.filter(state=WorkState.QUEUED,
                                    queue="integrations.deliver").update(
                run_after=timezone.now())
            time.sleep(0.5)
    finally:
        stop(workers)
    ok = {mid: tries.count(200) for mid, tries in Receiver.got.items() if mid.startswith("down_")}
    once = sum(1 for v in ok.values() if v == 1)
    emit("webhook_recovered_exactly_once", once, "messages", target=n,
         more_than_once=sum(1 for v in ok.values() if v > 1),
         never=n - len([v for v in ok.values() if v >= 1]),
         attempts_per_message=statistics.median(len(t) for m, t in Receiver.got.items()
                                                if m.startswith("down_")))
    server.shutdown()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--phase", choices=PHASES)
    ap.add_argument("--var")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--rate", type=int, default=2000)
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--deliveries", type=int, default=1000)
    ap.add_argument("--timeout", type=int, default=1800)
    args, _rest = ap.parse_known_args()
    if args.phase and args.var:
        os.chdir(ROOT)
        globals()[f"phase_{args.phase}"](args)
        return
    for phase in ([args.phase] if args.phase else PHASES):
        with tempfile.TemporaryDirectory() as var:
            subprocess.run([sys.executable, __file__, "--phase", phase, "--var", var,
                            *sys.argv[1:]], check=True)


if __name__ == "__main__":
    main()
