"""Retention: the preview says what is due, the run deletes old import files and sign-in
logs and anonymises customers without activity (when a period is set), and reports."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from guanxi.audit.models import AuditEntry
from guanxi.customers.models import Customer
from guanxi.dataquality import importing
from guanxi.dataquality.models import ImportJob
from guanxi.privacy.selectors import retention_preview
from guanxi.privacy.services import retention_run
from guanxi.testing import make_customer

pytestmark = pytest.mark.django_db


def _due() -> dict[str, int]:
    return {r["name"]: r["due"] for r in retention_preview()}


def test_old_import_files_go_and_recent_ones_stay(personas, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    data = "姓名,手机\n王芳,13800001111\n".encode()
    old = importing.import_upload(actor=personas.admin, name="old.csv", chunks=iter([data]),
                                  size=len(data), kind="customers")
    new = importing.import_upload(actor=personas.admin, name="new.csv", chunks=iter([data]),
                                  size=len(data), kind="customers")
    ImportJob.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - dt.timedelta(days=settings.GUANXI_RETAIN_IMPORT_FILES_DAYS + 1))
    assert _due()["dataquality.import_files"] == 1
    report = retention_run()
    assert report["dataquality.import_files"] == 1
    from pathlib import Path

    assert not Path(old.stored_path).exists() and Path(new.stored_path).exists()
    assert "sample" not in ImportJob.objects.get(pk=old.pk).options
    assert AuditEntry.objects.get(action="privacy.retention").extra["changed"] == report
    assert _due()["dataquality.import_files"] == 0


def test_inactive_customers_are_anonymised_only_when_a_period_is_set(personas, settings):
    quiet = make_customer(personas.admin, full_name="沉默客户", phones=["13800002222"])
    active = make_customer(personas.admin, full_name="活跃客户")
    Customer.objects.filter(pk=quiet.pk).update(
        created_at=timezone.now() - dt.timedelta(days=4 * 365))
    from guanxi.customers.models import Event

    Event.objects.filter(customer=quiet).update(
        occurred_at=timezone.now() - dt.timedelta(days=4 * 365))
    assert _due()["customers.inactive"] == 0  # no period: kept
    retention_run()
    assert Customer.objects.get(pk=quiet.pk).erased_at is None
    settings.GUANXI_RETAIN_INACTIVE_CUSTOMERS_YEARS = 3
    assert _due()["customers.inactive"] == 1
    call_command("retention", "--apply")
    assert Customer.objects.get(pk=quiet.pk).erased_at is not None
    assert Customer.objects.get(pk=active.pk).erased_at is None
    assert AuditEntry.objects.filter(action="privacy.erase", customer_id=quiet.pk).exists()


def test_old_sign_in_records_are_deleted(client, personas, settings):
    from axes.models import AccessLog

    client.post("/accounts/login/", {"username": "sales", "password": "pw-for-tests-1"})
    AccessLog.objects.update(attempt_time=timezone.now() - dt.timedelta(days=400))
    assert _due()["accounts.sign_in_log"] == 1
    retention_run()
    assert not AccessLog.objects.exists()


def test_the_records_page_shows_the_retention_preview(client, personas):
    client.force_login(personas.manager)
    page = client.get("/privacy/")
    assert b"GUANXI_RETAIN_IMPORT_FILES_DAYS" in page.content


def test_old_audit_values_are_anonymised_and_the_chain_still_verifies(personas, settings):
    from guanxi.audit.chain import audit_seal, audit_verify

    customer = make_customer(personas.admin, full_name="张伟", phones=["13800003333"])
    from guanxi.customers.services import customer_update

    customer_update(actor=personas.admin, customer=customer, occupation="教师")
    later = timezone.now() + dt.timedelta(days=2 * 365)
    audit_seal(now=later)
    assert _due()["audit.values"] == 0  # no period: kept
    settings.GUANXI_RETAIN_AUDIT_VALUES_YEARS = 1
    assert {r["name"]: r["due"] for r in retention_preview(now=later)}["audit.values"] > 0
    retention_run(now=later)
    entry = AuditEntry.objects.get(action="customer.update", customer_id=customer.pk)
    assert entry.changes == {"occupation": ["[expired]", "[expired]"]}
    assert entry.redacted_at is not None and audit_verify().ok
