"""Triggers and actions are registered by the apps that own them; settings are checked;
an action given the same step twice acts once."""

from __future__ import annotations

import pytest

from guanxi.core.automation import (
    ConfigField,
    action_type,
    action_types,
    config_errors,
    trigger_type,
    trigger_types,
)


def test_each_app_registers_its_triggers_and_actions():
    assert {(t.name, t.app) for t in trigger_types()} >= {
        ("timeline.event", "timeline"), ("analytics.segment_joined", "analytics"),
        ("analytics.segment_left", "analytics")}
    assert {(t.name, t.app) for t in action_types()} >= {
        ("customers.tag_add", "customers"), ("customers.tag_remove", "customers")}


@pytest.mark.django_db
def test_actions_offered_follow_the_permissions(personas):
    assert "customers.tag_add" in {t.name for t in action_types(personas.sales)}
    assert "customers.tag_add" not in {t.name for t in action_types(personas.analyst)}


@pytest.mark.django_db
def test_settings_are_checked_against_kinds_and_choices():
    event = trigger_type("timeline.event")
    assert config_errors(event.fields, {"kind": "order_placed"}) == []
    assert [f for f, _r in config_errors(event.fields, {"kind": "no_such_kind", "x": 1})] == [
        "x", "kind"]
    assert [f for f, _r in config_errors(event.fields, {})] == ["kind"]
    fields = (ConfigField("days", "Days", "integer"),)
    assert [f for f, _r in config_errors(fields, {"days": True})] == ["days"]
    assert config_errors(fields, {"days": 3}) == []


@pytest.mark.django_db
def test_a_repeated_step_adds_the_tag_once(personas):
    from guanxi.audit.models import AuditEntry
    from guanxi.customers.models import Event
    from guanxi.testing import make_customer

    c = make_customer(personas.admin, full_name="王芳")
    add = action_type("customers.tag_add").run
    first = add(customer_id=c.pk, config={"tag": "生日关怀"}, key="a1:c:s1:2026")
    again = add(customer_id=c.pk, config={"tag": "生日关怀"}, key="a1:c:s1:2026")
    assert first["done"] and not again["done"]
    assert list(c.tag_links.values_list("tag__name", flat=True)) == ["生日关怀"]
    assert Event.objects.filter(customer=c, kind="tags_automatic").count() == 1
    assert AuditEntry.objects.filter(customer_id=c.pk, action="tag.automatic").count() == 1
    remove = action_type("customers.tag_remove").run
    assert remove(customer_id=c.pk, config={"tag": "生日关怀"}, key="k2")["done"]
    assert not remove(customer_id=c.pk, config={"tag": "生日关怀"}, key="k2")["done"]
