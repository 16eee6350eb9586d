"""Import rate (issue 11: new customers >= 3,000 rows/s, updates >= 1,000 rows/s on
SQLite, with the same per-row validation, timeline and audit).

On a database seeded with --base customers, `guanxi import` reads a CSV of --rows new
customers (names, phones, emails, regions, some messy), then a second CSV that changes
the same customers (found by phone; --update region=overwrite, occupation=overwrite).
Each is timed end to end in its own process (reading, validation, writing, timeline
events, audit, checkpoints) — median of --repeat runs, each on a fresh copy of the
seeded database. Prints one JSON object per figure.

    python bench/imports.py [--base 100000] [--rows 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUANXI = [sys.executable, "-m", "guanxi"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
REGIONS = ["浙江", "上海", "北京", "广东", "江苏", "四川", "湖北"]


def emit(name: str, value: float, unit: str, **extra: object) -> None:
    print(json.dumps({"name": name, "value": round(value, 1), "unit": unit, **extra}),
          flush=True)


def write_csv(path: Path, rows: int, seed: int, *, updates: bool) -> None:
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["姓名", "手机", "邮箱", "地区", "职业"])
        for i in range(rows):
            name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(2))
            phone = f"139{i:08d}"
            if not updates and i % 7 == 0:
                phone = f"+86 139-{i // 10000:04d}-{i % 10000:04d}"  # messy but the same
            email = f"user{i}@example.com" if i % 3 else ""
            region = rng.choice(REGIONS)
            occupation = rng.choice(["教师", "工程师", "医生", "设计师"]) if updates else ""
            w.writerow([name, phone, email, region, occupation])


def run(args: list[str], env: dict[str, str]) -> str:
    return subprocess.run([*GUANXI, *args], env=env, check=True, capture_output=True,
                          text=True).stdout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", type=int, default=100_000, help="customers already there")
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--var", type=Path, default=ROOT / "var" / "bench-import")
    args = ap.parse_args()
    args.var.mkdir(parents=True, exist_ok=True)
    seeded = args.var / "seeded.sqlite3"
    work = args.var / "guanxi.sqlite3"
    env = {**os.environ, "GUANXI_VAR_DIR": str(args.var), "DATABASE_URL": f"sqlite:///{work}",
           "GUANXI_ADMIN_PASSWORD": "bench-password-1"}
    if not seeded.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{work}{suffix}").unlink(missing_ok=True)
        run(["migrate", "--verbosity", "0"], env)
        run(["createadmin"], env)
        run(["seed", "--customers", str(args.base), "--seed", "11", "--batch", "5000"], env)
        run(["shell", "-c", "from django.db import connection; "
                            "connection.cursor().execute('PRAGMA wal_checkpoint(TRUNCATE)')"],
            env)
        shutil.copy(work, seeded)
    new_csv, update_csv = args.var / "new.csv", args.var / "updates.csv"
    write_csv(new_csv, args.rows, 1, updates=False)
    write_csv(update_csv, args.rows, 2, updates=True)
    rates: dict[str, list[float]] = {"new": [], "updates": []}
    for _ in range(args.repeat):
        for suffix in ("-wal", "-shm"):
            Path(f"{work}{suffix}").unlink(missing_ok=True)
        shutil.copy(seeded, work)
        for kind, path, extra in (
                ("new", new_csv, []),
                ("updates", update_csv, ["--update", "region=overwrite",
                                         "--update", "occupation=overwrite"])):
            started = time.perf_counter()
            out = run(["import", str(path), "--source", "pos", *extra], env)
            elapsed = time.perf_counter() - started
            rates[kind].append(args.rows / elapsed)
            print(f"# {kind}: {out.strip()} in {elapsed:.1f}s", file=sys.stderr, flush=True)
    emit("import_new_rows", statistics.median(rates["new"]), "rows/s", rows=args.rows,
         base=args.base, runs=[round(r) for r in rates["new"]], target=3000)
    emit("import_update_rows", statistics.median(rates["updates"]), "rows/s",
         rows=args.rows, base=args.base, runs=[round(r) for r in rates["updates"]],
         target=1000)


if __name__ == "__main__":
    main()
