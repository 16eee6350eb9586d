"""Imports: formats, mapping, dry run, per-row errors, idempotency, resume, limits."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from openpyxl import Workbook

from guanxi.core.errors import InvalidInput
from guanxi.customers.models import Customer, Identity, Order
from guanxi.dataquality import importing, writing
from guanxi.dataquality.models import ImportJob, ImportPreset, JobStatus, TagRule

pytestmark = pytest.mark.django_db

HEADER = ["会员号", "姓名", "手机", "邮箱", "生日", "性别", "地址", "标签"]
ROWS = [
    ["M001", "張偉", "+86 138 0013 8000", "ZW@Example.com", "1990/1/2", "男",
     "廣東省廣州市天河區體育西路1號", "VIP"],
    ["M002", "欧阳娜娜", "0086-139-0000-1111", "nana@example.com", "1995年3月4日", "女",
     "杭州市西湖区文三路88号", "新客,杭州"],
    ["M003", "", "13700000000", "", "", "", "", ""],
    ["M004", "Li Xiaoming", "1370000000x", "bad-email", "1990-13-45", "?", "", ""],
    ["M005", "单志明", "１３６００１３６０００", "", "2000-02-29", "女士",
     "上海市浦东新区张江路1号", ""],
]


def _csv_bytes(rows=ROWS, header=HEADER, encoding="utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def _upload(actor, data: bytes, name="members.csv", kind="customers") -> ImportJob:
    return importing.import_upload(actor=actor, name=name, chunks=iter([data]),
                                   size=len(data), kind=kind)


_capture = None


def _run(actor, job, **configure) -> ImportJob:
    importing.import_configure(actor=actor, job=job, mapping=job.mapping, **configure)
    with _capture(execute=True):  # the worker task runs at commit (Huey immediate mode)
        importing.import_start(actor=actor, job=job)
    job.refresh_from_db()
    return job


@pytest.fixture(autouse=True)
def _immediate(huey_immediate, django_capture_on_commit_callbacks):
    global _capture
    _capture = django_capture_on_commit_callbacks


def test_headings_are_mapped_and_values_standardised(personas):
    # given a typical export from a Chinese shop system
    job = _upload(personas.manager, _csv_bytes())
    assert job.mapping == {"会员号": "external_id", "姓名": "full_name", "手机": "phone",
                           "邮箱": "email", "生日": "birthday", "性别": "gender",
                           "地址": "address", "标签": "tags"}
    # when
    job = _run(personas.manager, job)
    # then
    assert job.status == JobStatus.DONE
    assert (job.created, job.updated, job.failed, job.rows_done) == (4, 0, 1, 5)
    assert job.warned == 1  # Li Xiaoming: bad phone, email, birthday, gender dropped
    zw = Identity.objects.get(kind="external", value="M001").customer
    assert zw.display_name == "張偉" and zw.gender == "male"
    assert set(zw.identities.values_list("value", flat=True)) >= {"+8613800138000",
                                                                 "zw@example.com"}
    address = zw.addresses.get()
    assert (address.province, address.city, address.district) == ("广东省", "广州市", "天河区")
    nana = Identity.objects.get(kind="external", value="M002").customer
    assert sorted(nana.tag_links.values_list("tag__name", flat=True)) == ["新客", "杭州"]
    assert Identity.objects.get(kind="external", value="M005").customer.gender == "female"


def test_bad_rows_are_reported_with_row_column_value_and_reason(
        personas):
    job = _run(personas.manager, _upload(personas.manager, _csv_bytes()))
    report = list(importing.import_errors_rows(actor=personas.manager, job=job))
    assert report[0] == ["row", "column", "field", "value", "reason", "outcome", *HEADER]
    by_column = {(r[0], r[1]): r for r in report[1:]}
    assert by_column[("4", "姓名")][4] == "A customer needs a name"
    assert by_column[("4", "姓名")][5] == "row not imported"
    assert by_column[("4", "姓名")][6:] == ROWS[2]  # the original row, to fix and re-import
    # optional fields with bad values: warnings, the rest of the row is imported
    assert by_column[("5", "邮箱")][3] == "bad-email"
    assert by_column[("5", "手机")][3] == "1370000000x"
    assert by_column[("5", "生日")][4] == "No such date"
    assert by_column[("5", "生日")][5] == "imported without this value"
    assert ("5", "性别") in by_column
    li = Identity.objects.get(value="M004").customer
    assert li.display_name == "Li Xiaoming" and li.birthday is None
    assert not li.identities.filter(kind__in=["phone", "email"]).exists()
    # nothing of the rejected row was written, not even the valid parts
    assert not Identity.objects.filter(value__in=["M003", "+8613700000000"]).exists()


def test_reimporting_the_same_file_adds_nothing(personas):
    data = _csv_bytes()
    _run(personas.manager, _upload(personas.manager, data))
    customers, identities = Customer.objects.count(), Identity.objects.count()
    again = _run(personas.manager, _upload(personas.manager, data))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert (Customer.objects.count(), Identity.objects.count()) == (customers, identities)


def test_dry_run_reports_without_writing(personas):
    job = _run(personas.manager, _upload(personas.manager, _csv_bytes()), dry_run=True)
    assert (job.created, job.failed) == (4, 1)
    assert Customer.objects.count() == 0
    assert job.row_errors.count() >= 5


def test_xlsx_and_json_are_read_too(personas):
    book = Workbook()
    sheet = book.active
    sheet.append(["Customer ID", "Name", "Mobile", "Date of birth"])
    sheet.append(["X1", "Lena Müller", 8613800138009, "1988-05-06"])
    buffer = io.BytesIO()
    book.save(buffer)
    records = [{"id": "J1", "name": "王芳", "phone": "13800138010", "tags": ["a", "b"]}]
    x = _run(personas.manager, _upload(personas.manager, buffer.getvalue(), "list.xlsx"))
    j = _run(personas.manager, _upload(personas.manager,
                                       json.dumps(records).encode(), "list.json"))
    assert (x.created, x.failed, j.created, j.failed) == (1, 0, 1, 0)
    assert Identity.objects.get(value="X1").customer.given_name == "Lena"
    assert Identity.objects.filter(value="+8613800138009").exists()  # Excel's number


def test_gb18030_csv_from_excel_is_read(personas):
    data = _csv_bytes(rows=ROWS[:1], encoding="gb18030")
    job = _run(personas.manager, _upload(personas.manager, data))
    assert job.created == 1


def test_resume_continues_after_the_last_checkpoint(personas, monkeypatch,
                                                    django_capture_on_commit_callbacks):
    # given an import whose worker died after the first chunk
    monkeypatch.setattr(writing, "CHUNK", 2)
    monkeypatch.setattr(writing, "_bulk_create_new", lambda *a, **k: set())
    job = _upload(personas.manager, _csv_bytes())
    importing.import_configure(actor=personas.manager, job=job, mapping=job.mapping)
    ImportJob.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED)
    calls = {"n": 0}
    real = writing._customer_write

    def dying(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("worker killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(writing, "_customer_write", dying)
    with pytest.raises(RuntimeError):
        importing.import_run(job.pk)
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.created) == (JobStatus.FAILED, 2, 2)
    # when it is resumed
    monkeypatch.setattr(writing, "_customer_write", real)
    with django_capture_on_commit_callbacks(execute=True):
        importing.import_resume(actor=personas.manager, job=job)
    job.refresh_from_db()
    # then the rest is imported once
    assert (job.status, job.rows_done, job.created, job.failed) == (JobStatus.DONE, 5, 4, 1)
    assert Customer.objects.count() == 4


def test_limits_give_a_clear_message(personas, settings):
    settings.GUANXI_IMPORT_MAX_BYTES = 10
    with pytest.raises(InvalidInput) as exc:
        _upload(personas.manager, _csv_bytes())
    assert "limit" in exc.value.errors[0].message
    with pytest.raises(InvalidInput) as exc:
        _upload(personas.manager, b"x", name="list.pdf")
    assert exc.value.errors[0].field == "file"


def test_row_limit(personas, settings):
    settings.GUANXI_IMPORT_MAX_ROWS = 3
    job = _run(personas.manager, _upload(personas.manager, _csv_bytes()))
    assert job.status == JobStatus.FAILED
    assert "more than 3 rows" in job.error
    assert Customer.objects.count() == 0


def test_presets_are_saved_and_reused(personas):
    job = _upload(personas.manager, _csv_bytes())
    importing.import_configure(actor=personas.manager, job=job,
                               mapping={"姓名": "full_name", "手机": "phone"},
                               preset_name="POS export")
    preset = ImportPreset.objects.get(name="POS export")
    other = _upload(personas.manager, _csv_bytes())
    importing.preset_apply(actor=personas.manager, job=other, preset=preset)
    assert other.mapping == {"姓名": "full_name", "手机": "phone"}


def test_mapping_errors_name_the_problem(personas):
    job = _upload(personas.manager, _csv_bytes())
    with pytest.raises(InvalidInput) as exc:
        importing.import_configure(actor=personas.manager, job=job,
                                   mapping={"手机": "phone", "nope": "email",
                                            "邮箱": "shoe_size"})
    fields = {e.field for e in exc.value.errors}
    assert fields == {"mapping.nope", "mapping.邮箱", "mapping"}


def test_orders_import_links_to_customers_and_is_idempotent(
        personas):
    _run(personas.manager, _upload(personas.manager, _csv_bytes()))
    orders = _csv_bytes(header=["订单号", "会员号", "下单时间", "实付金额", "渠道"], rows=[
        ["O-1", "M001", "2026-01-05 10:30", "¥1,299.00", "门店"],
        ["O-2", "M002", "2026/2/1", "88", "天猫"],
        ["O-3", "M999", "2026-02-01", "10", "web"],
        ["O-4", "M001", "someday", "-5", "mars"],
    ])
    job = _run(personas.manager, _upload(personas.manager, orders, "orders.csv",
                                         kind="orders"))
    assert (job.created, job.failed) == (2, 2)
    order = Order.objects.get(external_id="O-1")
    assert (str(order.total), order.channel) == ("1299.00", "pos")
    assert order.customer.identities.filter(value="M001").exists()
    report = {(r[0], r[2]) for r in importing.import_errors_rows(actor=personas.manager,
                                                                 job=job)}
    assert {("4", "customer_external_id"), ("5", "placed_at"), ("5", "total"),
            ("5", "channel")} <= report
    again = _run(personas.manager, _upload(personas.manager, orders, "orders.csv",
                                           kind="orders"))
    assert (again.created, again.unchanged) == (0, 2)


def test_automatic_tags_follow_rules_on_import_and_change(
        personas):
    from guanxi.customers import services as cs

    TagRule.objects.create(tag="广东客户", attribute="province", operator="equals",
                           value="广东省")
    TagRule.objects.create(tag="90后", attribute="birth_year", operator="gte", value="1990")
    _run(personas.manager, _upload(personas.manager, _csv_bytes()))
    zw = Identity.objects.get(value="M001").customer
    assert set(zw.tag_links.values_list("tag__name", flat=True)) >= {"广东客户", "90后"}
    import datetime as dt

    cs.customer_update(actor=personas.manager, customer=zw, birthday=dt.date(1985, 1, 1))
    assert not zw.tag_links.filter(tag__name="90后").exists()


def test_only_import_roles_may_import(personas):
    for role in ("sales", "service", "marketing", "analyst", "norole"):
        with pytest.raises(PermissionDenied):
            _upload(personas.by_role(role), _csv_bytes())


def test_readers_stream_large_files_without_loading_them(tmp_path: Path):
    from guanxi.dataquality.readers import read_rows

    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as fh:
        fh.write("id,name\n")
        for i in range(50_000):
            fh.write(f"{i},name{i}\n")
    rows = read_rows(path, "csv")
    first = next(rows)
    assert first == (2, {"id": "0", "name": "name0"})
    assert sum(1 for _ in rows) == 49_999


def test_a_new_rule_tags_existing_customers():
    from guanxi.dataquality.autotags import autotags_apply_all
    from guanxi.testing import make_customer, make_personas

    p = make_personas()
    c = make_customer(p.manager, full_name="王芳", emails=["wf@qq.com"])
    make_customer(p.manager, full_name="李娜", emails=["ln@163.com"])
    TagRule.objects.create(tag="QQ邮箱", attribute="email_domain", operator="equals",
                           value="qq.com")
    assert autotags_apply_all() == 1
    assert list(c.tag_links.values_list("tag__name", flat=True)) == ["QQ邮箱"]


def test_new_customers_in_bulk_get_what_one_by_one_creation_writes(personas):
    from guanxi.audit.models import AuditEntry
    from guanxi.customers.models import Event, SearchTerm

    rows = [[f"B{i}", f"王{'芳丽娜静'[i]}", f"1380013801{i}", f"b{i}@example.com", "1990-01-02",
             "男", "杭州市西湖区文三路88号", "VIP"] for i in range(4)]
    job = _run(personas.manager, _upload(personas.manager, _csv_bytes(rows=rows)))
    assert (job.created, job.failed) == (4, 0)
    for i in range(4):
        c = Identity.objects.get(kind="external", value=f"B{i}").customer
        assert c.source == "import" and c.gender == "male"
        assert c.identities.filter(kind="phone", is_primary=True).count() == 1
        assert c.addresses.get().city == "杭州市"
        assert list(c.tag_links.values_list("tag__name", flat=True)) == ["VIP"]
        assert Event.objects.filter(customer=c, kind="customer_created").count() == 1
        assert AuditEntry.objects.filter(customer_id=c.pk, action="customer.create").exists()
        assert SearchTerm.objects.filter(customer=c, term=f"e:b{i}@example.com").exists()


def test_rows_of_one_person_in_one_chunk_become_one_customer(personas):
    rows = [["C1", "张伟", "13800138000", "", "", "", "", ""],
            ["C1", "張偉", "13800138000", "zw@example.com", "", "", "", ""],
            ["C2", "李娜", "13900139000", "", "", "", "", ""],
            ["C3", "王芳", "13700137000", "", "", "", "", ""]]
    job = _run(personas.manager, _upload(personas.manager, _csv_bytes(rows=rows)))
    assert (job.created, job.updated, job.failed) == (3, 1, 0)
    zw = Identity.objects.get(value="C1").customer
    assert zw.identities.filter(value="zw@example.com").exists()


def test_cli_imports_with_a_report_and_resumes(personas, tmp_path, capsys):
    from django.core.management import CommandError, call_command

    source, report = tmp_path / "members.csv", tmp_path / "errors.csv"
    source.write_bytes(_csv_bytes())
    call_command("import", str(source), "--as-user", "manager", "--source", "pos",
                 "--errors", str(report), "--save-preset", "shop")
    assert "4 were created" in capsys.readouterr().out
    assert "A customer needs a name" in report.read_text(encoding="utf-8-sig")
    job = ImportJob.objects.get()
    assert job.status == JobStatus.DONE
    with pytest.raises(CommandError, match="failed or stalled"):
        call_command("import", "--resume", str(job.pk), "--as-user", "manager")
    call_command("import", str(source), "--as-user", "manager", "--preset", "shop",
                 "--dry-run")
    assert "0 would be created" in capsys.readouterr().out


def test_updates_of_known_customers_in_one_batch_are_audited_row_by_row(personas):
    from guanxi.audit.models import AuditEntry
    from guanxi.customers.models import Event

    rows = [[f"U{i}", f"王{'芳丽娜静'[i]}", f"1380013802{i}", "", "", "", "", ""]
            for i in range(4)]
    _run(personas.manager, _upload(personas.manager, _csv_bytes(rows=rows)))
    # the same people again: two get a birthday, one a bad one, one nothing new
    again = [["U0", "王芳", "", "", "1990-01-02", "", "", ""],
             ["U1", "王丽", "", "", "1991-02-03", "男", "", ""],
             ["U2", "王娜", "", "", "2999-01-01", "", "", ""],
             ["U3", "王静", "", "", "", "", "", ""]]
    job = _run(personas.manager, _upload(personas.manager, _csv_bytes(rows=again)))
    assert (job.created, job.updated, job.unchanged, job.failed) == (0, 2, 2, 0)
    assert job.warned == 1  # the birthday in the future is dropped with a warning
    for i, fields in ((0, ["birthday"]), (1, ["birthday", "gender"])):
        c = Identity.objects.get(value=f"U{i}").customer
        assert Event.objects.get(customer=c, kind="profile_updated").data["fields"] == fields
        entry = AuditEntry.objects.get(customer_id=c.pk, action="customer.update")
        assert entry.actor_label == "manager" and sorted(entry.changes) == fields
        assert c.version == 2
    quiet = Identity.objects.get(value="U3").customer
    assert not Event.objects.filter(customer=quiet, kind="profile_updated").exists()


def test_rows_converted_in_a_second_process_import_the_same(personas, monkeypatch):
    from guanxi.dataquality.models import ImportRowError

    def outcome(job: ImportJob) -> tuple[object, ...]:
        errors = sorted(ImportRowError.objects.filter(job=job).values_list(
            "row", "field", "warning", "reason"))
        people = sorted(Customer.objects.values_list("display_name", "birthday", "gender"))
        return (job.created, job.updated, job.failed, job.warned, errors, people)

    alone = _run(personas.manager, _upload(personas.manager, _csv_bytes()))
    first = outcome(alone)
    Customer.objects.all().delete()
    monkeypatch.setattr(writing, "PIPELINE_FROM", 1)
    monkeypatch.setattr(writing, "CHUNK", 2)  # several chunks in flight
    used = []

    def forked(make, what):
        used.append(what)
        return real(make, what)

    real = writing.forked
    monkeypatch.setattr(writing, "forked", forked)
    piped = _run(personas.manager, _upload(personas.manager, _csv_bytes()))
    assert used == ["import"]
    assert piped.status == JobStatus.DONE and outcome(piped) == first
    assert first[0] >= 3 and first[2] >= 1
