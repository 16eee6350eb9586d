from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from guanxi.customers.models import Customer
from guanxi.operations.backups import RestoreError, backup_create, backup_restore, row_counts
from guanxi.testing import make_customer


@pytest.mark.django_db(transaction=True)
def test_backup_then_restore_round_trip(personas, tmp_path):
    if os.environ.get("DATABASE_URL", "").startswith("postgres") and not shutil.which("pg_dump"):
        pytest.fail("pg_dump is needed for PostgreSQL backups")
    make_customer(personas.admin, full_name="张伟", phones=["13812345678"])
    path = tmp_path / "guanxi.backup"
    manifest = backup_create(path=path)
    before = row_counts()
    assert manifest["counts"]["customers_customer"] == 1
    # when the data changes after the backup
    make_customer(personas.admin, full_name="李娜")
    Customer.objects.filter(display_name="张伟").delete()
    # then a restore brings back exactly what was backed up
    result = backup_restore(path=path)
    assert list(Customer.objects.values_list("display_name", flat=True)) == ["张伟"]
    assert row_counts() == before
    _drop_kept(result["previous"])


def test_restore_refuses_without_manifest(tmp_path, db):
    path = tmp_path / "x.backup"
    path.write_bytes(b"junk")
    with pytest.raises(RestoreError):
        backup_restore(path=path)


def test_token_create_prints_a_working_token(personas):
    out = io.StringIO()
    call_command("token", "create", "--user", "service", stdout=out)
    token = out.getvalue().strip()
    r = Client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.json()["username"] == "service" and r.json()["role"] == "service"


def test_seed_is_deterministic(db):
    from django.utils import timezone

    from guanxi.customers.seeding import generate

    now = timezone.now().replace(microsecond=0)
    generate(customers=30, seed=7, now=now)
    first = list(Customer.objects.order_by("pk").values_list("display_name", "birthday"))
    Customer.objects.all().delete()
    generate(customers=30, seed=7, now=now)
    second = list(Customer.objects.order_by("pk").values_list("display_name", "birthday"))
    assert first == second and len(first) == 30


def test_seed_generated_in_a_second_process_writes_the_same_rows(db):
    from django.utils import timezone

    from guanxi.customers.models import Event, Identity, Order, SearchTerm
    from guanxi.customers.seeding import generate

    def everything() -> list[object]:
        return [list(Customer.objects.order_by("pk").values_list(
                    "pk", "display_name", "birthday", "region", "attributes", "created_at")),
                list(Identity.objects.order_by("pk").values_list("customer_id", "value")),
                list(SearchTerm.objects.order_by("customer_id", "term").values_list(
                    "customer_id", "term")),
                list(Order.objects.order_by("pk").values_list("pk", "total", "placed_at")),
                list(Event.objects.order_by("pk").values_list(
                    "pk", "customer_id", "kind", "occurred_at", "data", "order_id"))]

    now = timezone.now().replace(microsecond=0)
    alone = generate(customers=40, seed=5, now=now, batch=15, processes=1)
    first = everything()
    Customer.objects.all().delete()
    steps: list[int] = []
    forked = generate(customers=40, seed=5, now=now, batch=15, processes=2,
                      progress=steps.append)
    assert everything() == first and vars(forked) == vars(alone)
    assert steps == [15, 15, 10] and alone.events == len(first[4])


def test_demo_loads_once(db, settings):
    from guanxi.accounts.services import user_create
    from guanxi.customers.demo import demo_load

    admin = user_create(actor=None, username="admin", password="x-pass-123", role="admin",
                        is_superuser=True)
    assert demo_load(admin=admin, password="x-pass-123", customers=20)["customers"] >= 20
    count = Customer.objects.count()
    assert demo_load(admin=admin, password="x-pass-123", customers=20) is None
    assert Customer.objects.count() == count


def test_no_missing_migrations(db):
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_seed_command_with_as_of_is_reproducible(db):
    import hashlib

    from guanxi.customers.models import Event, Order

    def fingerprint() -> str:
        rows = list(Order.objects.order_by("pk").values_list("total", "placed_at", "channel"))
        rows += list(Event.objects.order_by("pk").values_list("kind", "occurred_at"))
        return hashlib.sha256(repr(rows).encode()).hexdigest()

    call_command("seed", "--customers", "25", "--seed", "3", "--as-of", "2026-06-30",
                 stdout=io.StringIO(), stderr=io.StringIO())
    first = fingerprint()
    Customer.objects.all().delete()
    call_command("seed", "--customers", "25", "--seed", "3", "--as-of", "2026-06-30",
                 stdout=io.StringIO(), stderr=io.StringIO())
    assert fingerprint() == first


@pytest.mark.django_db(transaction=True)
def test_backup_and_restore_commands_report_and_verify(personas, tmp_path):
    if os.environ.get("DATABASE_URL", "").startswith("postgres") and not shutil.which("pg_dump"):
        pytest.fail("pg_dump is needed for PostgreSQL backups")
    make_customer(personas.admin, full_name="张伟")
    path = tmp_path / "cli.backup"
    out = io.StringIO()
    call_command("backup", str(path), stdout=out, stderr=io.StringIO())
    assert "Backed up" in out.getvalue()
    out = io.StringIO()
    call_command("restore", str(path), "--yes", stdout=out, stderr=io.StringIO())
    assert "Restored and verified" in out.getvalue()
    _drop_kept(out.getvalue().rsplit("kept as ", 1)[1].strip().rstrip("."))


def _needs_pg_tools():
    if os.environ.get("DATABASE_URL", "").startswith("postgres") and not shutil.which("pg_dump"):
        pytest.fail("pg_dump is needed for PostgreSQL backups")


def _drop_kept(previous: str) -> None:
    """Tests clean up the database a restore keeps beside the live one."""
    from django.db import connection

    if connection.vendor == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(previous + suffix).unlink(missing_ok=True)
        return
    from psycopg import sql

    from guanxi.operations.backups import _pg_connection

    with _pg_connection("postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(previous)))


@pytest.mark.django_db(transaction=True)
def test_a_backup_taken_while_four_clients_write_restores_and_verifies(personas, tmp_path):
    import threading

    from django.db import connections

    _needs_pg_tools()
    for i in range(50):
        make_customer(personas.admin, full_name=f"客户{i}")
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            i = 0
            while not stop.is_set():
                make_customer(personas.admin, full_name=f"写入{n}-{i}",
                              phones=[f"139{n:02d}{i:06d}"])
                i += 1
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    try:
        # when a backup is taken while they write
        path = tmp_path / "busy.backup"
        manifest = backup_create(path=path)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors
    written = Customer.objects.count()
    assert written > manifest["counts"]["customers_customer"] >= 50
    # then it restores, verified by its own counts
    result = backup_restore(path=path)
    try:
        assert Customer.objects.count() == manifest["counts"]["customers_customer"]
        assert row_counts() == manifest["counts"]
    finally:
        _drop_kept(result["previous"])


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("damage", ["counts", "file"])
def test_a_failed_restore_leaves_the_live_database_untouched(personas, tmp_path, damage):
    import json

    _needs_pg_tools()
    make_customer(personas.admin, full_name="张伟")
    path = tmp_path / "x.backup"
    backup_create(path=path)
    make_customer(personas.admin, full_name="李娜")  # after the backup
    before = row_counts()
    manifest_file = path.with_name(path.name + ".manifest.json")
    if damage == "counts":  # a backup whose content does not match its manifest
        manifest = json.loads(manifest_file.read_text())
        manifest["counts"]["customers_customer"] += 7
        manifest_file.write_text(json.dumps(manifest))
    else:  # a truncated file
        path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 3])
    with pytest.raises(RestoreError):
        backup_restore(path=path)
    assert row_counts() == before
    assert set(Customer.objects.values_list("display_name", flat=True)) == {"张伟", "李娜"}
    from django.db import connection

    if connection.vendor == "sqlite":  # nothing left beside the live database
        live = Path(connection.settings_dict["NAME"])
        assert not [p.name for p in live.parent.iterdir()
                    if p.name.startswith(live.name) and "restore" in p.name]
