"""Loyalty figures (issue 17), each phase on its own fresh database:

  concurrency  10,000 concurrent 1-point redemptions through the API (32 client threads,
               a real `guanxi serve` with 2 workers × 4 threads) against a balance of
               1,000: how many succeed (target exactly 1,000), how many are 409
               insufficient_points (9,000), the balance after (0), and 500 requests
               repeated with their idempotency keys (target: same answers, nothing
               changed) — on SQLite and on PostgreSQL (--database)
  lottery      1,000,000 simulated draws of the points lottery: outcome counts against the
               published odds (chi-square, target p > 0.01), the same with stocks (target:
               no prize given beyond its stock), and the revealed seed replaying every
               result (target: 0 differences)
  expiry       points expiry and the tier review over --members members (default 1M) on
               SQLite, 10 % of them with points past their date (target <= 60 s for both,
               median of --repeat on fresh copies)
  backfill     points for --orders existing paid orders (default 10M; 1.5 lines each, ten
               orders per customer over three years, category, product and campaign rules,
               five tiers with upgrades along the way) with `points_backfill` on SQLite
               (target <= 300 s, median of --repeat on fresh copies), checked: every order
               has its record, lots hold every balance, a second run awards nothing

    python bench/loyalty.py [--phase NAME] [--database sqlite|postgres] [--repeat 3]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
GUANXI = [sys.executable, "-m", "guanxi"]
PASSWORD = "Bench-loyalty-2026!"  # noqa: S105 - a throwaway database
PG_URL = "postgres://postgres@127.0.0.1:5432/guanxi_bench_loyalty"


def emit(name: str, value: Any, unit: str, **extra: Any) -> None:
    print(json.dumps({"name": name, "value": value, "unit": unit, **extra},
                     ensure_ascii=False), flush=True)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(args: list[str], env: dict[str, str]) -> str:
    return subprocess.run([*GUANXI, *args], env=env, check=True, capture_output=True,
                          text=True).stdout


SETUP = """
from decimal import Decimal
from guanxi.customers.services import customer_create
from guanxi.accounts.models import User
from guanxi.loyalty import services
from guanxi.loyalty.models import Programme
Programme.objects.create(name="bench", approval_above=10**9)
admin = User.objects.get(username="admin")
c = customer_create(actor=admin, full_name="压测会员")
services.points_award(actor=None, customer=c, points=1000, reason="bench")
print(c.pk)
"""

CHECK = """
from django.db.models import Sum
from guanxi.loyalty.models import Entry, Member, Lot
m = Member.objects.get(customer_id={cid})
unbalanced = Entry.objects.values("journal").annotate(s=Sum("points")).exclude(s=0).count()
member = Entry.objects.filter(member=m, account="member").aggregate(s=Sum("points"))["s"]
lots = Lot.objects.filter(member=m).aggregate(s=Sum("remaining"))["s"]
print(m.balance, member, lots, unbalanced)
"""


def concurrency(database: str, requests: int, threads: int) -> None:
    with tempfile.TemporaryDirectory() as var:
        url = f"sqlite:///{var}/guanxi.sqlite3"
        if database == "postgres":
            import psycopg

            with psycopg.connect(PG_URL.rsplit("/", 1)[0] + "/postgres",
                                 autocommit=True) as conn:
                conn.execute("DROP DATABASE IF EXISTS guanxi_bench_loyalty")
                conn.execute("CREATE DATABASE guanxi_bench_loyalty")
            url = PG_URL
        env = {**os.environ, "GUANXI_VAR_DIR": var, "GUANXI_ADMIN_PASSWORD": PASSWORD,
               "DATABASE_URL": url, "GUANXI_API_RATE": "10000000/m",
               "GUANXI_ALLOWED_HOSTS": "127.0.0.1"}
        _run(["migrate", "--verbosity", "0"], env)
        _run(["createadmin"], env)
        customer = _run(["shell", "-c", SETUP], env).strip().splitlines()[-1]
        token = _run(["token", "create", "--user", "admin", "--name", "bench"],
                     env).strip().splitlines()[-1]
        port = _port()
        server = subprocess.Popen([*GUANXI, "serve", "--bind", f"127.0.0.1:{port}",
                                   "--workers", "2", "--threads", "4"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {token}"}
        path = f"/api/v1/loyalty/members/{customer}/redeem"
        try:
            with httpx.Client(base_url=base, timeout=120) as probe:
                for _ in range(150):
                    try:
                        probe.get("/healthz")
                        break
                    except httpx.TransportError:
                        time.sleep(0.2)
            keys = [f"k{i}" for i in range(requests)]
            shares = [keys[i::threads] for i in range(threads)]

            def worker(share: list[str]) -> dict[str, int]:
                out: dict[str, int] = {}
                with httpx.Client(base_url=base, timeout=120, headers=headers) as client:
                    for key in share:
                        r = client.post(path, json={"points": 1, "idempotency_key": key})
                        out[key] = r.status_code
                return out

            start = time.perf_counter()
            statuses: dict[str, int] = {}
            with concurrent.futures.ThreadPoolExecutor(threads) as pool:
                for part in pool.map(worker, shares):
                    statuses.update(part)
            elapsed = time.perf_counter() - start
            codes = list(statuses.values())
            with httpx.Client(base_url=base, timeout=120, headers=headers) as client:
                balance = client.get(f"/api/v1/loyalty/members/{customer}").json()["balance"]
                again = random.Random(7).sample(keys, 500)
                changed = sum(
                    client.post(path, json={"points": 1, "idempotency_key": k}).status_code
                    != statuses[k] for k in again)
                after = client.get(f"/api/v1/loyalty/members/{customer}").json()["balance"]
            ledger = _run(["shell", "-c", CHECK.replace("{cid}", customer)],
                          env).strip().splitlines()[-1].split()
        finally:
            server.terminate()
            server.wait(timeout=30)
    extra = {"database": database, "requests": requests, "threads": threads}
    emit("loyalty_concurrent_succeeded", codes.count(200), "requests", target=1000, **extra)
    emit("loyalty_concurrent_insufficient_409", codes.count(409), "requests",
         target=requests - 1000, **extra)
    emit("loyalty_concurrent_other_status", len(codes) - codes.count(200) - codes.count(409),
         "requests", target=0, **extra)
    emit("loyalty_concurrent_balance_after", balance, "points", target=0, **extra)
    emit("loyalty_idempotent_repeats_changed", changed + (after != balance), "answers",
         target=0, repeated=500, **extra)
    emit("loyalty_ledger_check", " ".join(ledger), "balance member-entries lots unbalanced",
         target="0 0 0 0", **extra)
    emit("loyalty_redeem_throughput", round(requests / elapsed), "requests/s", **extra)


EXPIRY_SETUP = """
import datetime as dt, random, time
from django.db import transaction
from django.utils import timezone
from guanxi.core.bulk import insert_objects
from guanxi.customers.models import Customer
from guanxi.loyalty.models import Entry, Journal, Lot, Member, Programme, Tier
Programme.objects.create(name="bench")
tiers = [Tier.objects.create(name=n, threshold=t) for n, t in
         (("普通", 0), ("银卡", 1000), ("金卡", 5000))]
rng = random.Random(17)
now = timezone.now()
N, CH = {members}, 50_000
for start in range(0, N, CH):
    n = min(CH, N - start)
    with transaction.atomic():
        insert_objects(Customer, [{{"display_name": f"会员{{start + i}}", "family_name": "会",
                                   "given_name": "员", "updated_at": now, "region": "",
                                   "occupation": "", "preferred_channel": ""}}
                                  for i in range(n)])
    first = Customer.objects.order_by("-pk").values_list("pk", flat=True)[n - 1]
    cids = list(range(first, first + n))
    with transaction.atomic():
        earned = [rng.randint(10, 6000) for _ in cids]
        old = [rng.random() < 0.10 for _ in cids]
        # members hold the tier their points earned them (as after the last review), but
        # those whose points date from over two years ago: they are reviewed down
        fit = [tiers[2] if p >= 5000 else tiers[1] if p >= 1000 else tiers[0]
               for p in earned]
        insert_objects(Member, [{{"customer": c, "balance": 0,
                                 "tier": (rng.choice(tiers) if o else t).pk}}
                                for c, o, t in zip(cids, old, fit)])
        mids = list(Member.objects.filter(customer_id__in=cids).order_by("customer_id")
                    .values_list("pk", flat=True))
        at = [now - dt.timedelta(days=800 if o else rng.randint(1, 300)) for o in old]
        insert_objects(Journal, [{{"member": m, "kind": "earn", "points": p, "created_at": a,
                                  "reason": "", "order": None, "actor": None}}
                                for m, p, a in zip(mids, earned, at)])
        jids = list(Journal.objects.filter(member_id__in=mids).order_by("member_id")
                    .values_list("pk", flat=True))
        insert_objects(Entry, [{{"journal": j, "account": acc, "member": m if acc == "member"
                                else None, "points": s * p}}
                               for j, m, p in zip(jids, mids, earned)
                               for acc, s in (("member", 1), ("liability", -1))])
        insert_objects(Lot, [{{"member": m, "journal": j, "points": p, "remaining": p,
                              "created_at": a, "expires_at": a + dt.timedelta(days=730)}}
                             for m, j, p, a in zip(mids, jids, earned, at)])
    from django.db import connection
    with connection.cursor() as c:
        c.execute("UPDATE loyalty_member SET balance = (SELECT SUM(remaining) FROM "
                  "loyalty_lot WHERE loyalty_lot.member_id = loyalty_member.id) "
                  "WHERE id BETWEEN %s AND %s", [min(mids), max(mids)])
print(Member.objects.count())
"""

EXPIRY_RUN = """
import time
from guanxi.loyalty import jobs
t = time.perf_counter(); points = jobs.points_expire(); e = time.perf_counter() - t
t = time.perf_counter(); counts = jobs.tiers_review(); r = time.perf_counter() - t
t = time.perf_counter(); again = jobs.points_expire(); a = time.perf_counter() - t
print(e, r, points, again, counts["up"], counts["down"], counts["grace"])
"""


def expiry(members: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as var:
        seeded = Path(var) / "seed.sqlite3"
        env = {**os.environ, "GUANXI_VAR_DIR": var, "DATABASE_URL": f"sqlite:///{seeded}"}
        _run(["migrate", "--verbosity", "0"], env)
        start = time.perf_counter()
        _run(["shell", "-c", EXPIRY_SETUP.format(members=members)], env)
        setup = time.perf_counter() - start
        runs = []
        for i in range(repeat):
            copy = Path(var) / f"run{i}.sqlite3"
            shutil.copy(seeded, copy)
            out = _run(["shell", "-c", EXPIRY_RUN],
                       {**env, "DATABASE_URL": f"sqlite:///{copy}"}).strip().splitlines()[-1]
            out = out.split()
            runs.append([float(v) for v in out])
            copy.unlink()
    extra = {"members": members, "database": "sqlite", "setup_s": round(setup, 1)}
    expire_s = statistics.median(r[0] for r in runs)
    review_s = statistics.median(r[1] for r in runs)
    emit("loyalty_expiry", round(expire_s, 1), "s", target=60, expired_points=int(runs[0][2]),
         runs=[round(r[0], 1) for r in runs], **extra)
    emit("loyalty_tier_review", round(review_s, 1), "s", target=60,
         up=int(runs[0][4]), down=int(runs[0][5]), grace=int(runs[0][6]),
         runs=[round(r[1], 1) for r in runs], **extra)
    emit("loyalty_expiry_and_review", round(expire_s + review_s, 1), "s", target=60, **extra)
    emit("loyalty_expiry_second_run_points", int(max(r[3] for r in runs)), "points",
         target=0, **extra)


BACKFILL_SETUP = """
import datetime as dt, random
from decimal import Decimal
from django.db import connection, transaction
from django.utils import timezone
from guanxi.core.bulk import insert_objects, insert_rows
from guanxi.customers.models import Customer, Order, OrderLine, Product
from guanxi.loyalty.demo import TIERS
from guanxi.loyalty.models import EarnRule, Programme, Tier
Programme.objects.create(name="bench", expiry_days=730)
for name, threshold, multiplier, birthday, benefits in TIERS:
    Tier.objects.create(name=name, threshold=threshold, multiplier=Decimal(multiplier))
now = timezone.now()
EarnRule.objects.create(name="tea", kind="category", match="茶叶", multiplier=2)
EarnRule.objects.create(name="lj", kind="product", match="SKU-1", multiplier=3)
EarnRule.objects.create(name="double", kind="campaign", match="", multiplier=2,
                        starts_at=now - dt.timedelta(days=60), ends_at=now - dt.timedelta(days=30))
rng = random.Random(7)
products = [Product.objects.create(sku=f"SKU-{{i}}", name=f"商品{{i}}", price=Decimal(10 + i),
                                   category=rng.choice(["茶叶", "茶具", ""]))
            for i in range(50)]
N = {orders}
C = max(1, N // 10)
for start in range(0, C, 50_000):
    n = min(50_000, C - start)
    with transaction.atomic():
        insert_objects(Customer, [{{"display_name": f"会员{{start + i}}", "family_name": "会",
                                   "given_name": "员", "updated_at": now, "region": "",
                                   "occupation": "", "preferred_channel": ""}}
                                  for i in range(n)])
first = Customer.objects.order_by("pk").values_list("pk", flat=True)[0]
adapt = connection.ops.adapt_datetimefield_value
money = lambda v: connection.ops.adapt_decimalfield_value(v, 14, 2)
line_id = 1
CH = 100_000
for start in range(0, N, CH):
    orders, lines = [], []
    for oid in range(start + 1, min(start + CH, N) + 1):
        customer = first + rng.randrange(C)
        placed = now - dt.timedelta(minutes=rng.randrange(3 * 365 * 24 * 60))
        total = Decimal(0)
        for _ in range(1 if rng.random() < 0.5 else 2):
            p = products[rng.randrange(50)]
            q = rng.randint(1, 3)
            amount = p.price * q
            total += amount
            lines.append((line_id, oid, p.pk, p.sku, p.name, q, money(p.price), money(amount)))
            line_id += 1
        orders.append((oid, customer, "", "web", "", "CNY", "paid", money(total), adapt(placed),
                       adapt(placed), adapt(placed)))
    with transaction.atomic():
        insert_rows("customers_order", ["id", "customer_id", "external_id", "channel", "store",
                                        "currency", "status", "total", "placed_at",
                                        "created_at", "updated_at"], orders)
        insert_rows("customers_orderline", ["id", "order_id", "product_id", "sku", "name",
                                            "quantity", "unit_price", "line_total"], lines)
print(Order.objects.count(), OrderLine.objects.count())
"""

BACKFILL_RUN = """
import time
from django.db.models import Sum
from guanxi.customers.models import Order
from guanxi.loyalty.backfill import points_backfill
from guanxi.loyalty.models import Lot, Member, OrderPoints
t = time.perf_counter()
counts = points_backfill()
elapsed = time.perf_counter() - t
again = points_backfill()["orders"]
records = OrderPoints.objects.count()
paid = Order.objects.filter(status="paid").count()
lots = Lot.objects.aggregate(s=Sum("remaining"))["s"] or 0
balances = Member.objects.aggregate(s=Sum("balance"))["s"] or 0
print(elapsed, counts["orders"], counts["points"], counts["members"], again, paid - records,
      lots - balances)
"""


def backfill(orders: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as var:
        seeded = Path(var) / "seed.sqlite3"
        env = {**os.environ, "GUANXI_VAR_DIR": var, "DATABASE_URL": f"sqlite:///{seeded}"}
        _run(["migrate", "--verbosity", "0"], env)
        start = time.perf_counter()
        _run(["shell", "-c", BACKFILL_SETUP.format(orders=orders)], env)
        setup = time.perf_counter() - start
        runs = []
        for i in range(repeat):
            copy = Path(var) / f"run{i}.sqlite3"
            shutil.copy(seeded, copy)
            out = _run(["shell", "-c", BACKFILL_RUN],
                       {**env, "DATABASE_URL": f"sqlite:///{copy}"}).strip().splitlines()[-1]
            runs.append([float(v) for v in out.split()])
            copy.unlink()
    seconds = statistics.median(r[0] for r in runs)
    extra = {"orders": orders, "database": "sqlite", "setup_s": round(setup, 1),
             "runs": [round(r[0], 1) for r in runs]}
    emit("loyalty_backfill", round(seconds, 1), "s", target=300,
         awarded_orders=int(runs[0][1]), points=int(runs[0][2]), members=int(runs[0][3]),
         **extra)
    emit("loyalty_backfill_rate", round(orders / seconds), "orders/s", **extra)
    emit("loyalty_backfill_second_run_orders", int(max(r[4] for r in runs)), "orders",
         target=0, **extra)
    emit("loyalty_backfill_orders_without_record", int(max(r[5] for r in runs)), "orders",
         target=0, **extra)
    emit("loyalty_backfill_lots_minus_balances", int(max(abs(r[6]) for r in runs)), "points",
         target=0, **extra)


def lottery_phase(draws: int) -> None:
    import hashlib
    import secrets
    from decimal import Decimal

    from scipy.stats import chisquare

    from guanxi.loyalty import lottery
    from guanxi.loyalty.lottery import PrizeSpec

    table = [PrizeSpec("一等奖", 1, None, Decimal("5000")), PrizeSpec("二等奖", 50),
             PrizeSpec("三等奖", 949), PrizeSpec("谢谢参与", 9000)]
    seed = secrets.token_hex(32)
    committed = lottery.commitment(seed)
    weights = [p.weight for p in table]
    start = time.perf_counter()
    counts = [0] * len(table)
    for seq in range(draws):
        counts[lottery.slot_prize(weights, lottery.ticket_number(seed, 1, seq,
                                                                 seq % 5000))] += 1
    elapsed = time.perf_counter() - start
    expected = [draws * p for p in lottery.odds(table)]
    emit("lottery_odds_chi_square_p", round(float(chisquare(counts, expected).pvalue), 4),
         "p", target="> 0.01", draws=draws, counts=counts,
         expected=[round(e) for e in expected])
    emit("lottery_draw_rate", round(draws / elapsed), "draws/s")
    stocked = [PrizeSpec("一等奖", 1, 10, Decimal("5000")), PrizeSpec("二等奖", 50, 500),
               PrizeSpec("三等奖", 949, 90_000), PrizeSpec("谢谢参与", 9000)]
    won = [0] * len(stocked)
    digest = hashlib.sha256()
    for seq in range(draws):
        digest.update(str(lottery.play(stocked, won, seed, 2, seq, seq % 5000)).encode())
    over = sum(max(w - p.stock, 0) for w, p in zip(won, stocked, strict=True)
               if p.stock is not None)
    emit("lottery_beyond_stock", over, "prizes", target=0, won=won,
         stock=[p.stock for p in stocked])
    assert lottery.commitment(seed) == committed
    again = [0] * len(stocked)
    replay = hashlib.sha256()
    for seq in range(draws):
        replay.update(str(lottery.play(stocked, again, seed, 2, seq, seq % 5000)).encode())
    emit("lottery_replay_differences", int(replay.digest() != digest.digest()), "runs",
         target=0, draws=draws)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--phase", choices=("concurrency", "lottery", "expiry", "backfill"),
                    default=None)
    ap.add_argument("--orders", type=int, default=10_000_000)
    ap.add_argument("--draws", type=int, default=1_000_000)
    ap.add_argument("--database", choices=("sqlite", "postgres", "both"), default="both")
    ap.add_argument("--requests", type=int, default=10_000)
    ap.add_argument("--threads", type=int, default=32)
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if args.phase in (None, "concurrency"):
        for database in (("sqlite", "postgres") if args.database == "both"
                         else (args.database,)):
            concurrency(database, args.requests, args.threads)
    if args.phase in (None, "lottery"):
        lottery_phase(args.draws)
    if args.phase in (None, "expiry"):
        expiry(args.members, args.repeat)
    if args.phase in (None, "backfill"):
        backfill(args.orders, args.repeat)


if __name__ == "__main__":
    main()
