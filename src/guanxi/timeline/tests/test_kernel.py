"""The timeline kernel: the kind registry, the one append API, summaries rendered per
language from structured data, masking, the migration of stored sentences."""

from __future__ import annotations

import ast
import datetime as dt
import importlib
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.utils import timezone, translation

from guanxi.customers import services
from guanxi.customers.models import Event
from guanxi.testing import make_customer
from guanxi.timeline.kinds import (
    INTERACTION,
    INTERNAL,
    all_kinds,
    check_data,
    data_errors,
    get_kind,
    is_ingestible,
    kinds_with,
    render_summary,
)
from guanxi.timeline.services import NewEvent, event_append, events_append_many

SRC = Path(__file__).resolve().parents[2]


def _kinds_written_in_code() -> set[str]:
    """Every literal kind passed to the append API or event_record anywhere in src."""
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                for kw in node.keywords:
                    if kw.arg == "kind" and isinstance(kw.value, ast.Constant) and \
                            isinstance(kw.value.value, str):
                        name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                        if name in ("event_record", "event_append", "NewEvent"):
                            found.add(kw.value.value)
    return found


def test_every_kind_written_is_registered_with_a_label():
    written = _kinds_written_in_code()
    assert {"customer_created", "order_placed", "tag_added", "customer_merged"} <= written
    missing = sorted(k for k in written if get_kind(k) is None)
    assert not missing, f"register these event kinds in their app's ready(): {missing}"
    for kind in all_kinds():
        assert str(kind.label) and kind.app, kind.name


def test_readers_ask_flags_not_lists():
    # internal kinds may not be forged through the API; ingestible ones and custom.* may
    assert not is_ingestible("customer_created") and not is_ingestible("tier_changed")
    assert is_ingestible("page_viewed") and is_ingestible("custom.coupon_viewed")
    assert not is_ingestible("custom.") and not is_ingestible("nonsense")
    assert "complaint" in kinds_with(INTERACTION) and "call" in kinds_with(INTERACTION)
    assert "profile_updated" not in kinds_with(INTERACTION)
    assert set(kinds_with(INTERNAL)) >= {"order_placed", "stage_changed", "customer_merged"}


def test_no_module_keeps_its_own_list_of_kinds():
    pattern = re.compile(r"^(INTERNAL|SYSTEM|INTERACTION|COMPLAINT)_KINDS\s*=", re.M)
    offenders = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
                 if "tests" not in p.parts and pattern.search(p.read_text(encoding="utf-8"))]
    assert not offenders


def test_data_is_checked_against_the_kind():
    with pytest.raises(ValueError, match="unknown event kind"):
        check_data("no_such_kind", {})
    with pytest.raises(ValueError, match="not a field"):
        check_data("tag_added", {"tag": "VIP", "phone": "+8613800138000"})
    assert data_errors("tag_added", {"tag": 5}) == [("tag", "should be text")]
    check_data("custom.anything", {"free": [1, 2]})
    check_data("complaint", {"text": "slow", "extra": 1})  # other systems may add keys


@pytest.mark.django_db
def test_no_sql_string_names_another_apps_table():
    """Raw SQL reaches another app's table through its model (Model._meta.db_table)."""
    owner = {m._meta.db_table: m._meta.app_config.name.rsplit(".", 1)[-1]
             for m in django_apps.get_models() if m.__module__.startswith("guanxi.")}
    word = re.compile(r"\b(" + "|".join(sorted(owner, key=len, reverse=True)) + r")\b")
    offenders = []
    for path in SRC.rglob("*.py"):
        if {"tests", "migrations"} & set(path.parts):
            continue
        app = path.relative_to(SRC).parts[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for match in word.finditer(node.value):
                    if owner[match.group(1)] != app:
                        offenders.append(f"{path.relative_to(SRC)}: {match.group(1)}")
    assert not offenders


@pytest.mark.django_db
def test_services_store_data_and_the_summary_renders_per_language(personas):
    customer = make_customer(personas.admin, full_name="王芳", source="pos")
    services.identity_add(actor=personas.admin, customer=customer, kind="phone",
                          value="13800138000")
    services.tag_add(actor=personas.admin, customer=customer, name="VIP")
    services.consent_set(actor=personas.admin, customer=customer, channel="sms",
                         purpose="marketing", granted=True, source="counter", proof="form")
    services.customer_update(actor=personas.admin, customer=customer, region="浙江")
    services.order_create(actor=personas.admin, customer=customer, channel="pos",
                          lines=[services.OrderLineInput(sku="X1", name="Tea", quantity=2,
                                                         unit_price=Decimal("10.00"))])
    events = {e.kind: e for e in Event.objects.filter(customer=customer)}
    assert {"customer_created", "identity_added", "tag_added", "consent_changed",
            "profile_updated", "order_placed"} <= set(events)
    # no sentence is stored: the summary column is left for free text
    assert all(e.summary == "" for e in events.values())
    assert events["tag_added"].data == {"tag": "VIP"}
    assert "+8613800138000" not in str([e.data for e in events.values()])
    with translation.override("en"):
        en = {k: render_summary(e) for k, e in events.items()}
    with translation.override("zh-hans"):
        zh = {k: render_summary(e) for k, e in events.items()}
    assert en["customer_created"] == "Customer created (source: Store (POS))"
    assert "门店" in zh["customer_created"] and "Customer" not in zh["customer_created"]
    assert en["consent_changed"] == "SMS · Marketing: granted"
    assert en["order_placed"].endswith("· 20.00 CNY · 2 items")
    assert "2 件" in zh["order_placed"] or "2件" in zh["order_placed"]
    assert en["profile_updated"] == "Changed: region"
    assert en["identity_added"] == "Phone"
    assert zh["identity_added"] == "电话"


@pytest.mark.django_db
def test_masked_viewers_get_no_personal_data_keys(personas):
    customer = make_customer(personas.admin, full_name="王芳", owner=personas.sales)
    services.customer_update(actor=personas.admin, customer=customer, occupation="律师")
    services.interaction_log(actor=personas.admin, customer=customer, kind="note",
                             summary="回电 13800138000")
    from guanxi.customers.selectors import timeline

    page = timeline(actor=personas.analyst, customer_id=customer.pk)
    by_kind = {e.kind: e for e in page.items}
    assert by_kind["profile_updated"].data == {"fields": ["occupation"]}
    assert "13800138000" not in by_kind["note"].summary
    assert render_summary(by_kind["profile_updated"])  # still says what changed


@pytest.mark.django_db
def test_append_paths_write_the_same_row(personas):
    customer = make_customer(personas.admin, full_name="李雷")
    when = timezone.now() - dt.timedelta(hours=1)
    one = event_append(customer_id=customer.pk, kind="page_viewed", occurred_at=when,
                       data={"url": "/tea"}, channel="web", idempotency_key="k1")
    written = events_append_many([
        NewEvent(customer_id=customer.pk, kind="page_viewed", occurred_at=when,
                 data={"url": "/tea"}, channel="web", idempotency_key="k1"),
        NewEvent(customer_id=customer.pk, kind="page_viewed", occurred_at=when,
                 data={"url": "/tea"}, channel="web", idempotency_key="k2"),
    ], skip_duplicates=True)
    assert written == 1  # k1 exists already
    two = Event.objects.get(idempotency_key="k2")
    assert (two.kind, two.data, two.channel, two.occurred_at) == (
        one.kind, one.data, one.channel, one.occurred_at)
    with pytest.raises(ValueError):
        events_append_many([NewEvent(customer_id=customer.pk, kind="tag_added",
                                     occurred_at=when, data={"bogus": 1})])


@pytest.mark.django_db
def test_migration_turns_stored_sentences_into_data(personas):
    customer = make_customer(personas.admin, full_name="韩梅梅")
    order = services.order_create(actor=personas.admin, customer=customer, channel="web",
                                  lines=[services.OrderLineInput(
                                      sku="X1", name="Tea", unit_price=Decimal("5.00"))])
    now = timezone.now()
    old = [  # rows as versions before the kernel wrote them
        Event.objects.create(customer=customer, kind="tag_added", occurred_at=now,
                             summary="VIP"),
        Event.objects.create(customer=customer, kind="customer_created", occurred_at=now,
                             summary="Customer created (source: Website)", source="web"),
        Event.objects.create(customer=customer, kind="order_refunded", occurred_at=now,
                             summary=f"{order} · Refunded", order=order,
                             data={"order_id": order.pk, "total": "5.00"}),
        Event.objects.create(customer=customer, kind="customer_merged", occurred_at=now,
                             summary="已与 #77 王芳 合并", data={"merge_id": 3, "absorbed": 77}),
        Event.objects.create(customer=customer, kind="note", occurred_at=now,
                             summary="Called back"),
    ]
    migration = importlib.import_module("guanxi.customers.migrations.0005_structured_events")
    migration.structure(django_apps, None)
    tag, created, refund, merged, note = (Event.objects.get(pk=e.pk) for e in old)
    assert (tag.summary, tag.data) == ("", {"tag": "VIP"})
    assert created.summary == ""
    assert refund.data["ref"] == str(order) and refund.summary == ""
    assert merged.data["other"] == 77 and merged.data["name"] == "王芳"
    assert note.summary == "Called back"  # free text stays
    with translation.override("en"):
        assert render_summary(tag) == "VIP"
        assert render_summary(merged) == "Merged with #77 王芳"
        assert render_summary(refund) == f"{order} · Refunded"


@pytest.mark.django_db
def test_a_large_batch_counts_exactly_what_was_new(personas):
    """At 1,000 events and more PostgreSQL stages the batch by COPY and inserts what is
    new in one statement; the unique index still decides, within the batch too."""
    customer = make_customer(personas.admin, full_name="李雷")
    when = timezone.now() - dt.timedelta(hours=1)

    def batch(keys):
        return [NewEvent(customer_id=customer.pk, kind="page_viewed", occurred_at=when,
                         data={"url": f"/p/{k}"}, idempotency_key=f"key-{k}") for k in keys]

    assert events_append_many(batch(range(300)), skip_duplicates=True) == 300
    # 1,200 more: 300 known, 100 twice in the batch itself, 800 new
    again = batch(range(1000)) + batch(range(900, 1000)) + batch(range(1000, 1100))
    assert events_append_many(again, skip_duplicates=True) == 800
    assert Event.objects.filter(customer=customer, kind="page_viewed").count() == 1100
    stored = Event.objects.get(idempotency_key="key-1050")
    assert stored.data == {"url": "/p/1050"} and stored.occurred_at == when
    # and twice in one transaction
    from django.db import transaction

    with transaction.atomic():
        assert events_append_many(batch(range(2000, 3000)), skip_duplicates=True) == 1000
        assert events_append_many(batch(range(2500, 3500)), skip_duplicates=True) == 500
