from __future__ import annotations

import os
import shutil

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import translation
from hypothesis import settings as hypothesis_settings

from guanxi.testing import Personas, make_personas

# Speed is measured by the benchmarks (make bench), never by a time limit in a unit test:
# on a busy two-core machine Hypothesis' per-example deadline only adds flaky failures.
hypothesis_settings.register_profile("guanxi", deadline=None)
hypothesis_settings.load_profile("guanxi")


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


@pytest.fixture(autouse=True)
def _english_after_each_test():
    """A request in another language leaves it active in the thread (LocaleMiddleware does
    not reset it): every test starts and ends in the default language."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True, scope="session")
def _require_postgres(django_db_setup, django_db_blocker):
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        with django_db_blocker.unblock():
            assert connection.vendor == "postgresql"


@pytest.fixture
def personas(db) -> Personas:
    return make_personas()


CHROMIUM = os.environ.get("GUANXI_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM):
        if os.environ.get("GUANXI_REQUIRE_BROWSER") == "1":
            pytest.fail(f"GUANXI_REQUIRE_BROWSER=1 but {CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls from the
    # test body are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield b
        b.close()


@pytest.fixture
def huey_immediate(settings, tmp_path):
    """Worker tasks run inline when the transaction that queued them commits; uploads go
    to a temporary var directory."""
    from huey.contrib.djhuey import HUEY

    settings.VAR_DIR = tmp_path
    HUEY.immediate = True
    yield
    HUEY.immediate = False
