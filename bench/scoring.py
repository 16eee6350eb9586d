"""Scoring-job benchmark (issue 4): a full rescore (RFM, tier, lifecycle stage, lifetime
value, churn risk) of 1,000,000 customers with 10,000,000 paid orders on SQLite and on
PostgreSQL. Targets on this 2-core machine: <= 60 s (SQLite), <= 30 s (PostgreSQL).

The database is generated once (customers over three years, each buying at their own
rate until they drop out, as BG/NBD assumes, plus interaction events and complaints) and
reused; each run calls the real job, `scores_refresh`, which writes every score and a
timeline event for each change of stage or tier. The first run on a fresh database
writes two events per customer (everyone "becomes" a stage and a tier); the measured
runs are nightly runs, each one day after the previous, writing the day's changes.
Reported: the median of --runs such runs, the first run, and
the job's own split (read / fit / apply / write), plus an incremental run after 1,000 new
orders.

    python bench/scoring.py [--customers 1000000] [--orders 10000000] [--runs 3]
                            [--database sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
AS_OF = 1_795_000_000.0  # a fixed "now" (2026-11-18), so runs are comparable
DAY = 86400.0


def emit(name: str, value: float, unit: str, **extra: object) -> None:
    print(json.dumps({"name": name, "value": round(float(value), 3), "unit": unit, **extra}),
          flush=True)


def simulate(customers: int, orders: int, seed: int = 11) -> dict[str, np.ndarray]:
    """Customers joining over three years; each buys at a gamma-distributed rate until a
    geometric number of purchases in drops them; scaled to about `orders` orders."""
    rng = np.random.default_rng(seed)
    created = AS_OF - rng.uniform(1, 3 * 365, customers) * DAY
    rate = rng.gamma(0.9, 1.0, customers)
    life = np.minimum(AS_OF - created, rng.exponential(400, customers) * DAY)
    expected = rate * life / DAY
    count = rng.poisson(expected * orders / expected.sum())
    count[:] = np.maximum(count, rng.random(customers) < 0.85)  # most bought at least once
    scale = orders / count.sum()
    count = np.floor(count * scale + rng.random(customers)).astype(np.int64)
    owner = np.repeat(np.arange(1, customers + 1), count)
    start = np.repeat(created, count)
    span = np.repeat(life, count)
    placed = start + rng.random(len(owner)) * span
    total = np.round(rng.gamma(2.0, 80.0, len(owner)) + 5, 2)
    n_events = customers * 2
    ev_owner = rng.integers(1, customers + 1, n_events)
    ev_time = AS_OF - rng.uniform(0, 2 * 365, n_events) * DAY
    ev_kind = rng.choice(np.array(["page_viewed", "email_opened", "wechat_message", "call",
                                   "complaint"]), n_events, p=[0.4, 0.3, 0.15, 0.1, 0.05])
    return {"created": created, "owner": owner, "placed": placed, "total": total,
            "ev_owner": ev_owner, "ev_time": ev_time, "ev_kind": ev_kind}


def _stamps(seconds: np.ndarray) -> list[str]:
    text = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
    return np.char.replace(text, "T", " ").tolist()


def rows(data: dict[str, np.ndarray], chunk: int = 1_000_000):
    """(table, columns, row iterator) in chunks, for SQLite inserts and PostgreSQL COPY."""
    created = _stamps(data["created"])
    yield ("customers_customer",
           ("id", "family_name", "given_name", "display_name", "gender", "lunar_birthday",
            "region", "occupation", "preferred_language", "preferred_channel", "source",
            "attributes", "created_at", "updated_at"),
           [(i + 1, "王", f"{i + 1}", f"王{i + 1}", "unknown", False, "浙江省", "", "zh-hans",
             "", "other", "{}", c, c) for i, c in enumerate(created)])
    owner, placed, total = data["owner"], data["placed"], data["total"]
    for lo in range(0, len(owner), chunk):
        stamps = _stamps(placed[lo:lo + chunk])
        yield ("customers_order",
               ("customer_id", "external_id", "channel", "store", "currency", "status",
                "total", "placed_at", "created_at", "updated_at"),
               [(int(o), "", "online", "", "CNY", "paid", float(t), s, s, s) for o, t, s in
                zip(owner[lo:lo + chunk], total[lo:lo + chunk], stamps, strict=True)])
    stamps = _stamps(data["ev_time"])
    yield ("customers_event",
           ("customer_id", "kind", "occurred_at", "recorded_at", "channel", "source",
            "summary", "data"),
           [(int(o), str(k), s, s, "web", "bench", "", "{}") for o, k, s in
            zip(data["ev_owner"], data["ev_kind"], stamps, strict=True)])


def run_guanxi(env: dict[str, str], *args: str) -> str:
    return subprocess.run([sys.executable, "-m", "guanxi", *args], env=env, check=True,
                          capture_output=True, text=True).stdout


def load_sqlite(path: Path, data: dict[str, np.ndarray], env: dict[str, str]) -> None:
    import sqlite3

    run_guanxi(env, "migrate", "--verbosity", "0")
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    for table, columns, batch in rows(data):
        conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                         f"({', '.join('?' * len(columns))})", batch)
        conn.commit()
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()


def load_postgres(url: str, data: dict[str, np.ndarray], env: dict[str, str]) -> None:
    import psycopg

    run_guanxi(env, "migrate", "--verbosity", "0")
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        for table, columns, batch in rows(data):
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in batch:
                    copy.write_row(row)
            conn.commit()
        cur.execute("SELECT setval(pg_get_serial_sequence('customers_customer', 'id'), "
                    "(SELECT max(id) FROM customers_customer))")
        conn.commit()
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE")


SCORE = """
import json, datetime as dt, time
import django; django.setup()
from guanxi.analytics.services import scores_refresh, scores_refresh_changed
from guanxi.customers.models import Order
as_of = dt.datetime.fromtimestamp({as_of}, dt.UTC) + dt.timedelta(days={day})
if {incremental}:
    from decimal import Decimal
    n = Order.objects.values("customer_id").order_by("-customer_id").first()["customer_id"]
    Order.objects.bulk_create([Order(customer_id=1 + (i * 997) % n, total=Decimal("88.00"),
                                     placed_at=as_of - dt.timedelta(hours=1), channel="online")
                               for i in range(1000)])
    started = time.perf_counter()
    summary = scores_refresh_changed(as_of=as_of)
    summary["seconds"] = round(time.perf_counter() - started, 2)
else:
    summary = scores_refresh(as_of=as_of)
print(json.dumps(summary))
"""


def score(env: dict[str, str], incremental: bool = False, day: int = 0) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c",
                          SCORE.format(as_of=AS_OF, incremental=incremental, day=day)],
                         env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def measure(label: str, env: dict[str, str], runs: int, target: float, fresh: bool) -> None:
    run_guanxi(env, "migrate", "--verbosity", "0")  # a database kept from an older checkout
    if fresh:
        first = score(env)
        emit(f"scoring_{label}_first_run", first["seconds"], "s", customers=first["customers"],
             changes_written=first["changed"])
    # nightly runs: each a day later than the one before, so stages and tiers change
    results = [score(env, day=day) for day in range(1, runs + 1)]
    seconds = [r["seconds"] for r in results]
    last = results[-1]
    emit(f"scoring_{label}_full", statistics.median(seconds), "s", target=target,
         runs=seconds, customers=last["customers"], changes_written=last["changed"],
         processes=last.get("processes"), read_s=last.get("read_s"), fit_s=last.get("fit_s"),
         score_s=last.get("score_s"), vacuum_s=last.get("vacuum_s"),
         churn_auc=last.get("churn_auc"), churn_baseline_auc=last.get("churn_baseline_auc"),
         meets_target=statistics.median(seconds) <= target)
    incremental = score(env, incremental=True, day=runs)
    emit(f"scoring_{label}_incremental_1000_orders", incremental["seconds"], "s",
         customers=incremental["customers"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    base = {**os.environ, "PYTHONPATH": str(ROOT / "src"),
            "DJANGO_SETTINGS_MODULE": "guanxi.config.settings"}
    tag = f"{args.customers}-{args.orders}"
    data = None
    if args.database in ("sqlite", "both"):
        var = ROOT / "var" / "bench" / f"scoring-{tag}"
        var.mkdir(parents=True, exist_ok=True)
        path, complete = var / "guanxi.sqlite3", var / "complete"
        env = {**base, "GUANXI_VAR_DIR": str(var), "DATABASE_URL": f"sqlite:///{path}"}
        fresh = not complete.exists()
        if fresh:
            path.unlink(missing_ok=True)
            data = simulate(args.customers, args.orders)
            started = time.perf_counter()
            load_sqlite(path, data, env)
            complete.touch()
            emit("scoring_sqlite_generate", time.perf_counter() - started, "s",
                 orders=len(data["owner"]))
        measure("sqlite", env, args.runs, 60.0, fresh)
    if args.database in ("postgres", "both"):
        import psycopg

        name = f"guanxi_bench_scoring_{tag.replace('-', '_')}"
        url = f"postgresql://postgres@127.0.0.1:5432/{name}"
        env = {**base, "DATABASE_URL": url}
        complete = ROOT / "var" / "bench" / f"{name}.complete"
        fresh = not complete.exists()
        if fresh:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
                conn.execute(f'CREATE DATABASE "{name}"')
            data = data or simulate(args.customers, args.orders)
            started = time.perf_counter()
            load_postgres(url, data, env)
            complete.parent.mkdir(parents=True, exist_ok=True)
            complete.touch()
            emit("scoring_postgres_generate", time.perf_counter() - started, "s",
                 orders=len(data["owner"]))
        measure("postgres", env, args.runs, 30.0, fresh)


if __name__ == "__main__":
    main()
