"""Regression tests of the fix-first review for imports: re-imports fill empty fields
only (per-field policy), no duplicate addresses, old → new values on the timeline, exact
dry runs, "Import for real" starts the import, warnings for optional fields, reasons in
the uploader's language."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from django.utils import translation

from guanxi.customers import services as cs
from guanxi.customers.models import Address, Customer, Event
from guanxi.dataquality import importing, writing
from guanxi.dataquality.models import ImportJob, JobStatus
from guanxi.testing import make_customer

pytestmark = pytest.mark.django_db


def _csv(header, rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def _import(actor, data, capture, **configure) -> ImportJob:
    job = importing.import_upload(actor=actor, name="f.csv", chunks=iter([data]),
                                  size=len(data), kind="customers")
    importing.import_configure(actor=actor, job=job, mapping=job.mapping, **configure)
    with capture(execute=True):
        importing.import_start(actor=actor, job=job)
    job.refresh_from_db()
    return job


@pytest.fixture
def existing(personas):
    return make_customer(personas.manager, full_name="刘洋", phones=["13800138000"],
                         occupation="教师", region="杭州市", addresses=[cs.AddressInput(
                             province="浙江省", city="杭州市", district="西湖区",
                             street="文三路88号")])


HEADER = ["姓名", "手机", "职业", "地址"]
ROWS = [["劉洋", "138 0013 8000", "医生", "浙江省杭州市西湖區文三路88號"],
        ["Liu Yang", "+86 13800138000", "", "浙江省杭州市西湖区文三路88号"],
        ["Yang Liu", "008613800138000", "", "浙江省 杭州市 西湖区 文三路８８号"]]


def test_a_reimport_matching_by_phone_fills_empty_fields_only(
        personas, existing, huey_immediate, django_capture_on_commit_callbacks):
    # when a file names the same person three ways, with a new occupation
    job = _import(personas.manager, _csv(HEADER, ROWS), django_capture_on_commit_callbacks)
    # then the name and the filled occupation stay, and the address is not added again
    existing.refresh_from_db()
    assert (existing.display_name, existing.occupation) == ("刘洋", "教师")
    assert Address.objects.filter(customer=existing).count() == 1
    assert Customer.objects.count() == 1
    assert (job.created, job.updated, job.unchanged, job.failed) == (0, 0, 3, 0)


def test_overwrite_policy_changes_the_field_and_the_timeline_shows_old_and_new(
        personas, existing, huey_immediate, django_capture_on_commit_callbacks, client):
    job = _import(personas.manager, _csv(HEADER, ROWS[:1]),
                  django_capture_on_commit_callbacks,
                  options={"update": {"职业": "overwrite", "occupation": "overwrite",
                                      "full_name": "never"}})
    existing.refresh_from_db()
    assert (existing.display_name, existing.occupation) == ("刘洋", "医生")
    assert job.updated == 1
    event = Event.objects.filter(customer=existing, kind="profile_updated").latest("pk")
    assert event.data["changes"] == {"occupation": ["教师", "医生"]}
    client.force_login(personas.manager)
    page = client.get(reverse("customers:detail", args=[existing.pk])).content.decode()
    assert "教师" in page and "医生" in page and "→" in page


def test_an_unknown_update_policy_is_a_field_error(personas, existing):
    data = _csv(HEADER, ROWS[:1])
    job = importing.import_upload(actor=personas.manager, name="f.csv", chunks=iter([data]),
                                  size=len(data), kind="customers")
    with pytest.raises(importing.InvalidInput) as exc:
        importing.import_configure(actor=personas.manager, job=job, mapping=job.mapping,
                                   options={"update": {"occupation": "sometimes"}})
    assert exc.value.errors[0].field == "update.occupation"


@pytest.mark.parametrize("chunk", [500, 2])
def test_a_dry_run_predicts_created_updated_and_rejected_exactly(
        personas, huey_immediate, django_capture_on_commit_callbacks, monkeypatch, chunk):
    # given rows that match earlier rows of the same file (within and across chunks)
    monkeypatch.setattr(writing, "CHUNK", chunk)
    header = ["会员号", "姓名", "手机", "邮箱"]
    rows = [["A1", "张伟", "13800138000", ""],
            ["A2", "李娜", "13900139000", ""],
            ["", "张伟", "13800138000", "zw@example.com"],   # the first row again, + email
            ["", "", "13700137000", ""],                     # no name: rejected
            ["A3", "王芳", "13600136000", ""],
            ["", "李娜", "13900139000", ""]]                  # the second row again
    data = _csv(header, rows)
    # when a dry run and then the real import run
    dry = _import(personas.manager, data, django_capture_on_commit_callbacks, dry_run=True)
    assert Customer.objects.count() == 0
    real = _import(personas.manager, data, django_capture_on_commit_callbacks)
    # then the dry run said exactly what happened
    counts = ("created", "updated", "unchanged", "failed")
    assert [getattr(dry, c) for c in counts] == [getattr(real, c) for c in counts]
    assert [getattr(real, c) for c in counts] == [3, 1, 1, 1]


def test_import_for_real_after_a_dry_run_starts_the_import(
        client, personas, huey_immediate, django_capture_on_commit_callbacks):
    dry = _import(personas.manager, _csv(HEADER, ROWS[:1]),
                  django_capture_on_commit_callbacks, dry_run=True)
    client.force_login(personas.manager)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(reverse("dataquality:import_again", args=[dry.pk]))
    real = ImportJob.objects.exclude(pk=dry.pk).get()
    assert r.status_code == 302 and r["Location"].endswith(f"/{real.pk}/")
    assert (real.status, real.dry_run, real.created) == (JobStatus.DONE, False, 1)


def test_reasons_are_in_the_uploaders_language(
        personas, huey_immediate, django_capture_on_commit_callbacks):
    with translation.override("zh-hans"):
        job = _import(personas.manager, _csv(["姓名", "邮箱"], [["", "x"], ["王芳", "bad"]]),
                      django_capture_on_commit_callbacks)
    reasons = list(job.row_errors.values_list("reason", flat=True))
    assert reasons and all(not r.isascii() for r in reasons), reasons


def test_the_cli_takes_update_policies(personas, existing, tmp_path):
    from django.core.management import call_command

    source = tmp_path / "m.csv"
    source.write_bytes(_csv(HEADER, ROWS[:1]))
    call_command("import", str(source), "--as-user", "manager", "--update",
                 "occupation=overwrite", stdout=io.StringIO(), stderr=io.StringIO())
    existing.refresh_from_db()
    assert (existing.display_name, existing.occupation) == ("刘洋", "医生")
    with pytest.raises(Exception, match="fill_empty, overwrite or never"):
        call_command("import", str(source), "--as-user", "manager", "--update",
                     "occupation=sometimes", stdout=io.StringIO(), stderr=io.StringIO())
