"""Hostile and awkward files: zip bombs, deep nesting, absurdly wide headers, huge cells,
encodings cut at the sample's edge, one bad byte deep in a file. Each gets a clear reason
(the file, or just its row), never a 500 or a worker crash."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from openpyxl import Workbook

from guanxi.core.errors import InvalidInput
from guanxi.customers.models import Customer
from guanxi.dataquality import importing
from guanxi.dataquality.models import ImportJob, JobStatus
from guanxi.dataquality.readers import MAX_CELL, MAX_COLUMNS

pytestmark = pytest.mark.django_db


def _upload(actor, data: bytes, name: str, **kwargs) -> ImportJob:
    return importing.import_upload(actor=actor, name=name, chunks=iter([data]),
                                   size=len(data), kind="customers", **kwargs)


def _run(actor, job, capture) -> ImportJob:
    importing.import_configure(actor=actor, job=job, mapping=job.mapping)
    with capture(execute=True):
        importing.import_start(actor=actor, job=job)
    job.refresh_from_db()
    return job


def _zip_bomb() -> bytes:
    book = Workbook()
    book.active.append(["name", "phone"])
    book.active.append(["张伟", "13800138000"])
    plain = io.BytesIO()
    book.save(plain)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(plain.getvalue())) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<sheetData>", b"<sheetData>" + b" " * 20_000_000)
            dst.writestr(item.filename, data)
    return out.getvalue()


def test_an_xlsx_zip_bomb_is_refused_before_it_unpacks(personas):
    data = _zip_bomb()
    assert len(data) < 200_000
    with pytest.raises(InvalidInput, match="zip bomb"):
        _upload(personas.manager, data, "bomb.xlsx")


def test_through_the_web_the_worker_reads_the_file_and_fails_the_job_with_the_reason(
        client, personas, huey_immediate, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(personas.manager)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/quality/imports/", {
            "file": SimpleUploadedFile("bomb.xlsx", _zip_bomb()), "kind": "customers"})
    assert r.status_code == 302
    job = ImportJob.objects.get()
    assert job.status == JobStatus.FAILED and "zip bomb" in job.error
    page = client.get(r["Location"]).content.decode()
    assert "zip bomb" in page


def test_json_nested_fifty_thousand_deep_is_refused(personas):
    data = ("[" * 50_000 + "]" * 50_000).encode()
    with pytest.raises(InvalidInput, match="nested more than"):
        _upload(personas.manager, data, "deep.json")


def test_a_deeply_nested_json_line_rejects_that_line(personas, huey_immediate,
                                                     django_capture_on_commit_callbacks):
    lines = [json.dumps({"name": "王芳", "phone": "13800138000"}),
             '{"name": "李娜", "x": ' + "[" * 50_000 + "]" * 50_000 + "}",
             json.dumps({"name": "张伟", "phone": "13800138001"})]
    job = _run(personas.manager, _upload(personas.manager, "\n".join(lines).encode(),
                                         "people.jsonl"), django_capture_on_commit_callbacks)
    assert (job.status, job.created, job.failed) == (JobStatus.DONE, 2, 1)
    assert "nested more than" in job.row_errors.get().reason


def test_a_million_column_csv_is_refused_with_the_count(personas):
    header = ",".join(f"c{i}" for i in range(1_000_000)).encode()
    with pytest.raises(InvalidInput, match=f"at most {MAX_COLUMNS}"):
        _upload(personas.manager, header + b"\n" + b"x," * 10 + b"\n", "wide.csv")


def test_a_huge_cell_rejects_its_row(personas, huey_immediate,
                                     django_capture_on_commit_callbacks):
    data = ("name,phone\n王芳,13800138000\n" + "李娜," + "9" * (MAX_CELL + 1) + "\n"
            "张伟,13800138001\n").encode()
    job = _run(personas.manager, _upload(personas.manager, data, "big.csv"),
               django_capture_on_commit_callbacks)
    assert (job.status, job.created, job.failed) == (JobStatus.DONE, 2, 1)
    assert "longer than" in job.row_errors.get().reason


def test_gb18030_with_a_two_byte_character_across_the_sample_edge_is_read(
        personas, huey_immediate, django_capture_on_commit_callbacks):
    # given a GB18030 file where byte 65,536 starts a two-byte character
    body = "姓名,手机\n".encode("gb18030")
    while len(body) < 65_535 - 40:
        body += "王芳,13800138000\n".encode("gb18030")
    filler = 65_535 - len(body) - len(",13800138000\n")
    body += b"a" * filler + b",13800138000\n"
    body += "李娜,13900139000\n".encode("gb18030")
    assert body[65_535:65_537] == "李".encode("gb18030")
    job = _upload(personas.manager, body, "gbk.csv")
    assert job.options["columns"] == ["姓名", "手机"]
    job = _run(personas.manager, job, django_capture_on_commit_callbacks)
    assert job.status == JobStatus.DONE
    assert Customer.objects.filter(display_name="李娜").exists()


def test_one_bad_utf8_byte_after_64_kb_rejects_only_its_row(
        personas, huey_immediate, django_capture_on_commit_callbacks):
    rows = [f"客户{i},1380000{i:04d}\n".encode() for i in range(4000)]
    body = b"name,phone\n" + b"".join(rows)
    assert len(body) > 70_000
    body += b"bad\xff name,13900000000\n" + "张伟,13900000001\n".encode()
    job = _run(personas.manager, _upload(personas.manager, body, "utf8.csv"),
               django_capture_on_commit_callbacks)
    assert (job.status, job.created, job.failed) == (JobStatus.DONE, 4001, 1)
    assert "not valid text" in job.row_errors.get().reason
