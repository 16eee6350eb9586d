"""Migrations both ways on the current database, the worker's periodic job, and the job
queue through real Redis (the many-machines configuration)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.db import connection

from guanxi.testing import make_customer


@pytest.mark.django_db(transaction=True)
def test_migrations_run_backwards_to_zero_and_forwards_again():
    call_command("migrate", "customers", "zero", verbosity=0)
    call_command("migrate", "audit", "zero", verbosity=0)
    tables = connection.introspection.table_names()
    assert "customers_event" not in tables and "audit_auditentry" not in tables
    call_command("migrate", verbosity=0)
    assert "customers_event" in connection.introspection.table_names()


@pytest.mark.django_db(transaction=True)
def test_nightly_backup_task_writes_and_rotates(personas, settings, tmp_path, monkeypatch):
    from guanxi.operations.tasks import nightly_backup_task

    settings.VAR_DIR = tmp_path
    monkeypatch.setenv("GUANXI_BACKUP_KEEP", "2")
    make_customer(personas.admin, full_name="张伟")
    for _ in range(3):
        nightly_backup_task.call_local()
    backups = sorted((tmp_path / "backups").glob("guanxi-*.backup"))
    assert 1 <= len(backups) <= 2
    assert all(b.with_name(b.name + ".manifest.json").exists() for b in backups)


def _redis_url() -> str | None:
    import redis

    url = os.environ.get("GUANXI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("GUANXI_REQUIRE_REDIS") == "1":
            pytest.fail(f"GUANXI_REQUIRE_REDIS=1 but Redis at {url} is unreachable: {exc}")
        pytest.skip(f"Redis unreachable: {exc}")
    return url


def test_jobs_travel_through_redis_when_configured(tmp_path):
    url = _redis_url()
    script = """
import django
django.setup()
from django.core.cache import cache
from huey.contrib.djhuey import HUEY
from guanxi.operations.tasks import nightly_backup_task
HUEY.flush()
result = nightly_backup_task()          # enqueued, not run
assert HUEY.pending_count() == 1, HUEY.pending_count()
task = HUEY.dequeue()                   # what a worker on another machine does
assert task.name.endswith("nightly_backup_task"), task.name
cache.set("guanxi-redis-check", 42)
print(type(HUEY).__name__, cache.get("guanxi-redis-check"))
HUEY.flush()
"""
    env = {**os.environ, "HUEY_REDIS_URL": url, "DJANGO_SETTINGS_MODULE": "guanxi.config.settings",
           "GUANXI_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["RedisHuey", "42"]
