"""The data-quality REST API with bearer tokens."""

from __future__ import annotations

import datetime as dt

import pytest

from guanxi.customers.models import Customer
from guanxi.dataquality.models import JobStatus, MatchCandidate
from guanxi.testing import bearer, make_customer

pytestmark = pytest.mark.django_db

CSV = "id,name,phone\nA1,張偉,13800138000\nA2,,13800138001\n".encode()


def test_import_through_the_api(client, personas, huey_immediate,
                                django_capture_on_commit_callbacks):
    auth = bearer(personas.manager)
    # given an upload
    from django.core.files.uploadedfile import SimpleUploadedFile

    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/api/v1/imports", {"file": SimpleUploadedFile("a.csv", CSV),
                                            "kind": "customers"}, headers=auth)
    assert r.status_code == 201, r.content
    assert r.json()["inspected"] is False  # the worker reads the file, not the web process
    job = client.get(f"/api/v1/imports/{r.json()['id']}", headers=auth).json()
    assert job["inspected"] is True
    assert job["columns"] == ["id", "name", "phone"]
    assert job["mapping"] == {"id": "external_id", "name": "full_name", "phone": "phone"}
    # when it is previewed and started
    preview = client.get(f"/api/v1/imports/{job['id']}/preview", headers=auth).json()
    assert preview[0]["result"]["phones"] == "+8613800138000"
    assert preview[1]["errors"][0]["field"] == "full_name"
    r = client.put(f"/api/v1/imports/{job['id']}", {"mapping": job["mapping"],
                                                     "source": "pos"},
                   content_type="application/json", headers=auth)
    assert r.status_code == 200, r.content
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(f"/api/v1/imports/{job['id']}/start", headers=auth)
    assert r.status_code == 202
    # then
    done = client.get(f"/api/v1/imports/{job['id']}", headers=auth).json()
    assert (done["status"], done["created"], done["failed"], done["percent"]) == (
        JobStatus.DONE, 1, 1, 100)
    errors = client.get(f"/api/v1/imports/{job['id']}/errors", headers=auth).json()
    assert errors == [{"row": 3, "column": "name", "field": "full_name", "value": "",
                       "reason": "A customer needs a name", "warning": False,
                       "raw": {"id": "A2", "name": "", "phone": "13800138001"}}]


def test_bad_mapping_is_a_422_with_field_paths(client, personas, huey_immediate,
                                               django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    auth = bearer(personas.manager)
    job = client.post("/api/v1/imports", {"file": SimpleUploadedFile("a.csv", CSV)},
                      headers=auth).json()
    # before the worker has read the file, a mapping cannot be checked: 409
    r = client.put(f"/api/v1/imports/{job['id']}", {"mapping": {"phone": "fax"}},
                   content_type="application/json", headers=auth)
    assert r.status_code == 409
    from guanxi.dataquality.importing import import_inspect

    import_inspect(job["id"])
    r = client.put(f"/api/v1/imports/{job['id']}", {"mapping": {"phone": "fax"}},
                   content_type="application/json", headers=auth)
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"mapping.phone", "mapping"}


def test_review_and_merge_and_undo_through_the_api(client, personas):
    auth = bearer(personas.manager)
    a = make_customer(personas.manager, full_name="张伟", phones=["13800138000"])
    b = make_customer(personas.manager, full_name="張偉", phones=["13800138001"])
    c = MatchCandidate.objects.create(left=a, right=b, probability=0.9, weight=3.2)
    listed = client.get("/api/v1/duplicates", headers=auth).json()
    assert [p["id"] for p in listed] == [c.pk]
    r = client.post(f"/api/v1/duplicates/{c.pk}/decision", {"same_person": True,
                                                            "keep_id": b.pk},
                    content_type="application/json", headers=auth)
    assert r.status_code == 200, r.content
    merge = r.json()
    assert (merge["survivor_number"], merge["absorbed_number"]) == (b.pk, a.pk)
    r = client.post(f"/api/v1/merges/{merge['id']}/undo", headers=auth)
    assert r.json() == {"restored_id": a.pk, "survivor_id": b.pk}
    assert Customer.objects.filter(pk=a.pk).exists()


def test_create_can_ask_for_a_duplicate_check(client, personas):
    auth = bearer(personas.manager)
    existing = make_customer(personas.manager, full_name="张伟",
                             birthday=dt.date(1990, 1, 2))
    body = {"full_name": "Zhang Wei", "birthday": "1990-01-02", "check_duplicates": True}
    r = client.post("/api/v1/customers", body, content_type="application/json", headers=auth)
    assert r.status_code == 409
    assert r.json()["possible_duplicates"] == [{"id": existing.pk, "display_name": "张伟"}]
    body["birthday"] = "1991-05-05"  # a different birthday: a different person
    r = client.post("/api/v1/customers", body, content_type="application/json", headers=auth)
    assert r.status_code == 201


@pytest.mark.parametrize("role", ["sales", "service", "marketing", "analyst"])
def test_merging_is_for_managers(client, personas, role):
    a = make_customer(personas.admin, full_name="张伟", owner=personas.sales)
    b = make_customer(personas.admin, full_name="張偉", owner=personas.sales)
    r = client.post(f"/api/v1/customers/{a.pk}/merge", {"other_id": b.pk},
                    content_type="application/json", headers=bearer(personas.by_role(role)))
    assert r.status_code in (403, 404)
    assert Customer.objects.filter(pk=b.pk).exists()
