"""Identity resolution: the file CLI (no database) and the run over the customer table."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from guanxi.customers.models import Customer
from guanxi.dataquality.matching import pairs_from_clusters, precision_recall_f1
from guanxi.dataquality.models import MatchCandidate, MatchStatus, Merge
from guanxi.dataquality.services import candidate_decide, resolution_run
from guanxi.testing import make_customer

ROWS = [
    # id, name, phone, email, birthday, address, true person
    ("r1", "张伟", "13800138000", "zhangwei@163.com", "1988-05-17", "杭州市西湖区文三路88号", "p1"),
    ("r2", "張偉", "+86 138 0013 8000", "", "1988/5/17", "浙江省杭州市西湖區文三路88號", "p1"),
    ("r3", "Zhang Wei", "0086-13800138000", "ZHANGWEI@163.COM", "", "", "p1"),
    ("r4", "张丽", "13800138000", "", "1990-02-03", "杭州市西湖区文三路88号", "p2"),  # wife
    ("r5", "欧阳娜娜", "13900001111", "nana@qq.com", "1995-02-09", "上海市静安区南京西路1号", "p3"),
    ("r6", "Nana Ouyang", "139 0000 1111", "nana@qq.com", "1995年2月9日", "", "p3"),
    ("r7", "李娜", "13700000000", "lina@example.com", "1985-07-08", "", "p4"),
]


def _write(path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "name", "phone", "email", "birthday", "address", "person"])
        writer.writerows(ROWS)


def test_dedupe_file_cli_clusters_people_not_households(tmp_path):
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    _write(source)
    call_command("dedupe", str(source), "--id-column", "id", "--map", "name=full_name",
                 "--map", "phone=phone", "--map", "email=email", "--map", "birthday=birthday",
                 "--map", "address=address", "--out", str(out))
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["id"] for r in rows] == [r[0] for r in ROWS]  # one row per input row
    found = pairs_from_clusters([r["id"] for r in rows], [r["cluster_id"] for r in rows])
    truth = pairs_from_clusters([r[0] for r in ROWS], [r[6] for r in ROWS])
    scores = precision_recall_f1(found, truth)
    assert scores["precision"] == 1.0  # the wife sharing the phone is not merged
    assert scores["recall"] == 1.0


@pytest.mark.parametrize(("args", "message"), [
    (["--map", "name=nickname"], "unknown field 'nickname'"),
    (["--map", "nom=full_name"], "the file has no column 'nom'"),
    (["--map", "full_name"], "write it as SOURCE_COLUMN=FIELD"),
    (["--id-column", "key", "--map", "name=full_name"], "--id-column 'key'"),
])
def test_dedupe_file_cli_explains_bad_arguments(tmp_path, args, message):
    source = tmp_path / "in.csv"
    _write(source)
    with pytest.raises(CommandError, match=message):
        call_command("dedupe", str(source), *args, "--out", str(tmp_path / "o.csv"))


def _one_person_twice(personas) -> tuple[Customer, Customer]:
    return (make_customer(personas.manager, full_name="张伟", phones=["13800138000"],
                          emails=["zhangwei@163.com"], birthday=dt.date(1988, 5, 17)),
            make_customer(personas.manager, full_name="張偉", phones=["13800138001"],
                          emails=["zhangwei@163.com.cn"], birthday=dt.date(1988, 5, 17)))


@pytest.mark.django_db
def test_resolution_merges_sure_pairs_and_queues_the_rest(personas):
    # given two records of one person, a household member, and a less certain pair
    a, b = _one_person_twice(personas)
    wife = make_customer(personas.manager, full_name="张丽", phones=["13800138002"],
                         birthday=dt.date(1990, 2, 3))
    c = make_customer(personas.manager, full_name="Lena Müller", emails=["lena@example.de"])
    d = make_customer(personas.manager, full_name="Müller, Lena",
                      emails=["lena.mueller@example.de"])
    # when
    summary = resolution_run(actor=personas.manager)
    # then the sure pair is merged, the unsure one waits, the household is left alone
    assert summary["customers"] == 5
    assert not Customer.objects.filter(pk=b.pk).exists()
    merge = Merge.objects.get()
    assert (merge.survivor_number, merge.absorbed_number, merge.automatic) == (a.pk, b.pk,
                                                                               True)
    assert Customer.objects.filter(pk=wife.pk).exists()
    pending = MatchCandidate.objects.filter(status=MatchStatus.PENDING)
    assert {(p.left_id, p.right_id) for p in pending} == {(c.pk, d.pk)}
    assert pending.get().explanation  # the reasons the review page shows
    # and a "not the same person" answer is not asked again
    candidate_decide(actor=personas.manager, candidate=pending.get(), same_person=False)
    again = resolution_run(actor=personas.manager)
    assert again["queued"] == 0
    assert MatchCandidate.objects.get().status == MatchStatus.DISTINCT


@pytest.mark.django_db
def test_a_remembered_answer_stops_even_an_automatic_merge(personas):
    a, b = _one_person_twice(personas)
    MatchCandidate.objects.create(left=a, right=b, probability=1, weight=40,
                                  status=MatchStatus.DISTINCT)
    summary = resolution_run(actor=personas.manager)
    assert (summary["merged"], summary["skipped"]) == (0, 1)
    assert Customer.objects.count() == 2
