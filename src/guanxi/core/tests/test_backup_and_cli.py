from __future__ import annotations

import io
import os
import shutil

import pytest
from django.core.management import call_command
from django.test import Client

from guanxi.core.backups import RestoreError, backup_create, backup_restore, row_counts
from guanxi.core.testing import make_customer
from guanxi.customers.models import Customer


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
    backup_restore(path=path)
    assert list(Customer.objects.values_list("display_name", flat=True)) == ["张伟"]
    assert row_counts() == before


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
