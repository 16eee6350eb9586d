from __future__ import annotations

import os

import pytest
from django.core.cache import cache
from django.db import connection

from guanxi.core.testing import Personas, make_personas


def pytest_report_header(config):
    from django.conf import settings

    return f"guanxi database: {settings.DATABASES['default']['ENGINE']}"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()  # rate-limit counters must not leak between tests
    yield


@pytest.fixture(autouse=True, scope="session")
def _require_postgres(django_db_setup, django_db_blocker):
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        with django_db_blocker.unblock():
            assert connection.vendor == "postgresql"


@pytest.fixture
def personas(db) -> Personas:
    return make_personas()

