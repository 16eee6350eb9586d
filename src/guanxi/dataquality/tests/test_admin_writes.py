"""Writes made in the administration site go through the services: audited, on the
timeline where they touch customers, and re-tagging everyone after a rule changes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from guanxi.audit.models import AuditEntry
from guanxi.customers.models import Event, Product
from guanxi.dataquality.models import TagRule
from guanxi.testing import make_customer

pytestmark = pytest.mark.django_db


def test_a_tag_rule_saved_in_the_admin_is_audited_and_retags_everyone(
        client, personas, huey_immediate, django_capture_on_commit_callbacks):
    # given a customer in Guangzhou and a manager in the admin
    c = make_customer(personas.manager, full_name="张伟", addresses=[])
    from guanxi.customers import services as cs

    cs.address_add(actor=personas.manager, customer=c, address=cs.AddressInput(
        province="广东省", city="广州市"))
    client.force_login(personas.manager)
    # when a rule is added there
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/admin/dataquality/tagrule/add/", {
            "tag": "广东客户", "attribute": "province", "operator": "equals",
            "value": "广东省", "active": "on"})
    # then it is audited with its values and the customer got the tag, on the timeline
    assert r.status_code == 302, r.content[:500]
    rule = TagRule.objects.get()
    entry = AuditEntry.objects.get(action="tagrule.save")
    assert entry.changes["tag"] == [None, "广东客户"]
    assert c.tag_links.filter(tag__name="广东客户").exists()
    event = Event.objects.get(customer=c, kind="tags_automatic")
    assert event.data == {"added": ["广东客户"], "removed": []}
    assert AuditEntry.objects.filter(action="tag.automatic", customer_id=c.pk).exists()
    # and deleting it is audited too
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/admin/dataquality/tagrule/{rule.pk}/delete/", {"post": "yes"})
    assert not TagRule.objects.exists()
    assert AuditEntry.objects.filter(action="tagrule.delete").exists()


def test_a_product_saved_in_the_admin_goes_through_product_upsert(client, personas):
    client.force_login(personas.admin)
    r = client.post("/admin/customers/product/add/", {
        "sku": "TEA-1", "name": "龙井", "category": "茶叶", "price": "88.00",
        "currency": "CNY"})
    assert r.status_code == 302, r.content[:500]
    product = Product.objects.get(sku="TEA-1")
    assert product.price == Decimal("88.00")
    assert AuditEntry.objects.filter(action="product.upsert").exists()
