"""Import, review and merge pages through Django's test client."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from guanxi.customers.models import Customer
from guanxi.dataquality.models import ImportJob, JobStatus, MatchCandidate, Merge
from guanxi.testing import make_customer

pytestmark = pytest.mark.django_db

CSV = ("会员号,姓名,手机,生日\n"
       "M1,張偉,+86 138 0013 8000,1990/1/2\n"
       "M2,,13700000000,\n"
       "M3,王芳,13800138011,not a date\n").encode()


def _login(client, user):
    client.force_login(user)
    return client


def test_upload_map_preview_and_run_an_import(client, personas, huey_immediate,
                                              django_capture_on_commit_callbacks):
    _login(client, personas.manager)
    # given an uploaded file, read by the worker (the page waits for it meanwhile)
    response = client.post(reverse("dataquality:imports"), {
        "file": SimpleUploadedFile("members.csv", CSV), "kind": "customers"})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{job.pk}/")
    waiting = client.get(reverse("dataquality:import", args=[job.pk])).content.decode()
    assert 'data-testid="reading-file"' in waiting
    from guanxi.dataquality.importing import import_inspect

    import_inspect(job.pk)
    # when the mapping page is shown, columns are matched and the preview standardises
    page = client.get(reverse("dataquality:import", args=[job.pk])).content.decode()
    assert 'value="full_name" selected' in page
    assert "+8613800138000" in page and "A customer needs a name" in page
    # and the import is started
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("dataquality:import", args=[job.pk]), {
            "action": "start", "map-0": "external_id", "map-1": "full_name",
            "map-2": "phone", "map-3": "birthday", "source": "pos", "system": "pos",
            "day_first": "1"})
    assert response.status_code == 302
    job.refresh_from_db()
    # then it ran, and the report lists the bad rows
    assert (job.status, job.created, job.failed, job.warned) == (JobStatus.DONE, 2, 1, 1)
    progress = client.get(reverse("dataquality:import_progress", args=[job.pk]))
    assert "errors.csv" in progress.content.decode()
    report = b"".join(client.get(reverse("dataquality:import_errors",
                                         args=[job.pk])).streaming_content).decode("utf-8-sig")
    assert "3,姓名,full_name,,A customer needs a name" in report
    assert "4,生日,birthday,not a date" in report
    assert set(Customer.objects.values_list("source", flat=True)) == {"pos"}


def test_upload_errors_are_shown_not_raised(client, personas, huey_immediate):
    _login(client, personas.manager)
    response = client.post(reverse("dataquality:imports"), {
        "file": SimpleUploadedFile("photo.png", b"\x89PNG"), "kind": "customers"})
    assert response.status_code == 422
    assert "Unsupported file type" in response.content.decode()


def test_mapping_errors_are_shown_on_the_form(client, personas, huey_immediate):
    _login(client, personas.manager)
    client.post(reverse("dataquality:imports"), {
        "file": SimpleUploadedFile("members.csv", CSV), "kind": "customers"})
    job = ImportJob.objects.get()
    from guanxi.dataquality.importing import import_inspect

    import_inspect(job.pk)
    response = client.post(reverse("dataquality:import", args=[job.pk]), {
        "action": "start", "map-2": "phone"})
    assert response.status_code == 422
    assert "Map a column to the customer&#x27;s name" in response.content.decode()
    job.refresh_from_db()
    assert job.status == JobStatus.DRAFT


def _pair(personas):
    a = make_customer(personas.manager, full_name="张伟", phones=["13800138000"],
                      birthday=dt.date(1990, 1, 2))
    b = make_customer(personas.manager, full_name="張偉", phones=["13800138001"])
    return MatchCandidate.objects.create(
        left=a, right=b, probability=0.93, weight=3.8,
        explanation=[{"field": "family_name", "gamma": 4, "weight": 5.1},
                     {"field": "phone", "gamma": 2, "weight": -1.2}])


def test_review_page_shows_both_records_and_why(client, personas):
    candidate = _pair(personas)
    _login(client, personas.manager)
    page = client.get(reverse("dataquality:review", args=[candidate.pk])).content.decode()
    assert "张伟" in page and "張偉" in page
    assert "Family name" in page and "5.1" in page and "-1.2" in page
    client.cookies["django_language"] = "zh-hans"
    page = client.get(reverse("dataquality:review", args=[candidate.pk])).content.decode()
    assert "姓" in page and "Family name" not in page


def test_merge_from_review_and_undo(client, personas):
    candidate = _pair(personas)
    _login(client, personas.manager)
    response = client.post(reverse("dataquality:review", args=[candidate.pk]),
                           {"decision": "keep_left"})
    assert response.status_code == 302
    assert not Customer.objects.filter(pk=candidate.right_id).exists()
    merge = Merge.objects.get()
    page = client.get(reverse("dataquality:merges")).content.decode()
    assert f"undo-{merge.pk}" in page
    client.post(reverse("dataquality:merge_undo", args=[merge.pk]))
    assert Customer.objects.filter(pk=candidate.right_id).exists()
    assert "undone" in client.get(reverse("dataquality:merges")).content.decode()


def test_not_the_same_person_is_remembered(client, personas):
    candidate = _pair(personas)
    _login(client, personas.manager)
    client.post(reverse("dataquality:review", args=[candidate.pk]), {"decision": "distinct"})
    candidate.refresh_from_db()
    assert candidate.status == "distinct"
    assert "Nothing to review" in client.get(reverse("dataquality:duplicates")
                                             ).content.decode()


def test_find_duplicates_runs_in_the_worker(client, personas, huey_immediate,
                                            django_capture_on_commit_callbacks):
    make_customer(personas.manager, full_name="张伟", phones=["13800138000"],
                  birthday=dt.date(1990, 1, 2), emails=["zw@example.com"])
    make_customer(personas.manager, full_name="張偉", phones=["13800138001"],
                  birthday=dt.date(1990, 1, 2), emails=["zw@example.org"])
    make_customer(personas.manager, full_name="王芳", phones=["13900000000"])
    _login(client, personas.manager)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("dataquality:resolution_start"))
    page = client.get(reverse("dataquality:duplicates")).content.decode()
    assert "3 customers compared" in page


@pytest.mark.parametrize("role", ["sales", "service", "marketing", "analyst"])
def test_pages_are_for_managers(client, personas, role):
    _login(client, personas.by_role(role))
    for name in ("imports", "duplicates", "merges"):
        assert client.get(reverse(f"dataquality:{name}")).status_code == 403


def test_360_page_points_to_a_pending_duplicate(client, personas):
    candidate = _pair(personas)
    _login(client, personas.manager)
    page = client.get(reverse("customers:detail", args=[candidate.left_id])).content.decode()
    assert reverse("dataquality:review", args=[candidate.pk]) in page
    _login(client, personas.service)  # may not merge: no banner
    page = client.get(reverse("customers:detail", args=[candidate.left_id])).content.decode()
    assert "duplicate-banner" not in page


def test_a_run_whose_worker_died_does_not_block_the_next(client, personas):
    import datetime as dt

    from django.utils import timezone

    from guanxi.dataquality.models import ResolutionRun

    old = ResolutionRun.objects.create(status=JobStatus.RUNNING, step="train",
                                       heartbeat_at=timezone.now() - dt.timedelta(hours=2))
    _login(client, personas.manager)
    client.post(reverse("dataquality:resolution_start"))
    old.refresh_from_db()
    assert old.status == JobStatus.FAILED
    assert ResolutionRun.objects.filter(status=JobStatus.QUEUED).count() == 1
