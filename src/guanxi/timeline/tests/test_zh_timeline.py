"""The zh-Hans 360 page of a demo customer shows no English sentence on the timeline:
what Guanxi records is rendered from data in the reader's language."""

from __future__ import annotations

import re

import pytest
from django.utils.html import strip_tags

from guanxi.customers import services
from guanxi.customers.demo import demo_load
from guanxi.customers.models import Customer, Event
from guanxi.dataquality.services import customers_merge

pytestmark = pytest.mark.django_db

ENGLISH = re.compile(r"[A-Za-z]{2,}(?:[ ,:()·]+[A-Za-z]{2,})+")


def _timeline_text(client, customer_id: int) -> str:
    page = client.get(f"/customers/{customer_id}/")
    assert page.status_code == 200 and 'data-testid="timeline"' in page.content.decode()
    rows = client.get(f"/customers/{customer_id}/timeline/", HTTP_HX_REQUEST="true")
    assert rows.status_code == 200
    return strip_tags(rows.content.decode())


def test_demo_customers_timelines_read_in_chinese(client, personas):
    demo_load(admin=personas.admin, password="x-demo-pass-1", customers=15)
    vip = Customer.objects.filter(tag_links__tag__name="VIP").first()
    other = Customer.objects.exclude(pk=vip.pk).order_by("pk").first()
    services.tag_remove(actor=personas.admin, customer=vip, name="VIP")
    services.consent_set(actor=personas.admin, customer=vip, channel="email",
                         purpose="surveys", granted=True)
    services.customer_update(actor=personas.admin, customer=vip, occupation="教师")
    customers_merge(actor=personas.admin, survivor=vip, absorbed=other)
    client.force_login(personas.admin)
    client.cookies["django_language"] = "zh-hans"
    # customers who speak Chinese (staff write their notes in it), with notes on file
    busiest = (Event.objects.filter(customer__preferred_language="zh-hans")
               .values_list("customer_id", flat=True).order_by("customer_id").distinct()[:10])
    for customer_id in {vip.pk, *busiest}:
        text = _timeline_text(client, customer_id)
        assert not ENGLISH.findall(text), (customer_id, ENGLISH.findall(text))
    text = _timeline_text(client, vip.pk)
    assert ("合并" in text and "同意" in text) or "撤回" in text
