"""Campaigns: the audience frozen at send time, variants and a holdout, the throttle,
cancel mid-send, the winner to the rest, attribution of orders and the lift."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.utils import timezone

from guanxi.analytics.services import segment_save
from guanxi.core.errors import InvalidInput
from guanxi.core.work import work_drain
from guanxi.customers.services import OrderLineInput, consent_set, order_create, product_upsert
from guanxi.engagement.campaigns import (
    VariantInput,
    campaign_cancel,
    campaign_launch,
    campaign_save,
    progress,
    report,
)
from guanxi.engagement.models import (
    HOLDOUT,
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    Message,
    MessageStatus,
)
from guanxi.engagement.services import TextInput, template_save
from guanxi.testing import make_customer

pytestmark = pytest.mark.django_db


def _audience(m, n, region="杭州"):
    people = []
    for i in range(n):
        c = make_customer(m, full_name=f"客户{region}{i}", region=region,
                          emails=[f"c{region.encode().hex()}{i}@example.com"])
        consent_set(actor=m, customer=c, channel="email", purpose="marketing", granted=True,
                    source="test")
        people.append(c)
    return people


def _templates(m):
    a = template_save(actor=m, name="A 版", channel="email", purpose="marketing",
                      texts=[TextInput("zh-hans", "新茶上市", "龙井新茶")])
    b = template_save(actor=m, name="B 版", channel="email", purpose="marketing",
                      texts=[TextInput("zh-hans", "{{ customer.salutation }}，新茶到了",
                                       "您的新茶")])
    return a, b


def _segment(m, region="杭州"):
    return segment_save(actor=m, name=f"{region}客户", rules={
        "field": "region", "operator": "contains", "value": region})


def test_variants_and_holdout_from_the_audience_frozen_at_send_time(personas, log_channels):
    m = personas.marketing
    people = _audience(personas.manager, 60)
    a, b = _templates(m)
    campaign = campaign_save(actor=m, name="新茶", segment_id=_segment(m).pk,
                             variants=[VariantInput(a.pk, 50), VariantInput(b.pk, 50)],
                             holdout_percent=20)
    campaign_launch(actor=m, campaign=campaign)
    work_drain(["engagement.campaign"])  # the audience is frozen when the send starts
    late = make_customer(personas.manager, full_name="迟到", region="杭州")
    work_drain()
    campaign.refresh_from_db()
    assert progress(campaign)["pending"] == 0
    assert campaign.status == CampaignStatus.SENT and campaign.audience_size == 60
    groups = dict(CampaignRecipient.objects.filter(campaign=campaign).values_list(
        "customer_id", "variant"))
    assert set(groups) == {p.pk for p in people} and late.pk not in groups
    held = [c for c, v in groups.items() if v == HOLDOUT]
    assert 4 <= len(held) <= 22  # 20 % of 60, by a stable hash
    assert not Message.objects.filter(customer_id__in=held).exists()
    sent = Message.objects.filter(origin="campaign", origin_id=campaign.pk)
    assert sent.count() == 60 - len(held)
    assert set(sent.values_list("variant", flat=True)) == {"A", "B"}
    assert all(groups[m.customer_id] == m.variant for m in sent)
    assert set(sent.values_list("status", flat=True)) == {MessageStatus.SENT}


def test_the_throttle_spaces_messages_and_cancel_stops_the_rest(personas, log_channels):
    m = personas.marketing
    _audience(personas.manager, 10, region="苏州")
    a, _b = _templates(m)
    campaign = campaign_save(actor=m, name="慢慢发", segment_id=_segment(m, "苏州").pk,
                             variants=[VariantInput(a.pk, 100)], holdout_percent=0,
                             throttle_per_hour=60)
    campaign_launch(actor=m, campaign=campaign)
    work_drain()  # the launch, and the first message (the others are due a minute apart)
    messages = Message.objects.filter(origin_id=campaign.pk).order_by("due_at")
    gaps = {round((y.due_at - x.due_at).total_seconds())
            for x, y in itertools.pairwise(messages)}
    assert gaps == {60}
    assert messages.filter(status=MessageStatus.SENT).count() == 1
    assert campaign_cancel(actor=m, campaign=campaign) == 9
    work_drain()
    assert Message.objects.filter(origin_id=campaign.pk,
                                  status=MessageStatus.CANCELLED).count() == 9


def test_the_winner_goes_to_the_rest(personas, log_channels, monkeypatch):
    m = personas.marketing
    _audience(personas.manager, 80, region="宁波")
    a, b = _templates(m)
    campaign = campaign_save(actor=m, name="赢家", segment_id=_segment(m, "宁波").pk,
                             variants=[VariantInput(a.pk, 50), VariantInput(b.pk, 50)],
                             holdout_percent=0, winner_metric="click", test_percent=50,
                             winner_after_hours=2)
    campaign_launch(actor=m, campaign=campaign)
    work_drain()
    test = Message.objects.filter(origin_id=campaign.pk)
    waiting = CampaignRecipient.objects.filter(campaign=campaign, variant="").count()
    assert waiting and test.count() == 80 - waiting
    test.filter(variant="B").update(clicked_at=timezone.now(), opened_at=timezone.now())
    later = timezone.now() + dt.timedelta(hours=2, minutes=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    work_drain()
    campaign.refresh_from_db()
    assert campaign.winner == "B" and campaign.winner_p is not None
    assert campaign.winner_p < 0.05
    assert progress(campaign)["pending"] == 0 and campaign.status == CampaignStatus.SENT
    rest = Message.objects.filter(origin_id=campaign.pk, created_at=later)
    assert rest.count() == waiting and set(rest.values_list("variant", flat=True)) == {"B"}


def test_orders_in_the_window_are_conversions_and_the_lift_is_against_the_holdout(
        personas, log_channels):
    m = personas.marketing
    people = _audience(personas.manager, 40, region="绍兴")
    a, _b = _templates(m)
    campaign = campaign_save(actor=m, name="转化", segment_id=_segment(m, "绍兴").pk,
                             variants=[VariantInput(a.pk, 100)], holdout_percent=25,
                             conversion_days=7)
    campaign_launch(actor=m, campaign=campaign)
    work_drain()
    product_upsert(actor=personas.manager, sku="LJ", name="龙井", price=Decimal("100"))
    groups = dict(CampaignRecipient.objects.filter(campaign=campaign).values_list(
        "customer_id", "variant"))
    soon = timezone.now() + dt.timedelta(days=1)
    too_late = timezone.now() + dt.timedelta(days=9)
    for c in people:
        if groups[c.pk] == "A":
            order_create(actor=personas.manager, customer=c, placed_at=soon,
                         lines=[OrderLineInput(sku="LJ", quantity=1)])
        else:
            order_create(actor=personas.manager, customer=c, placed_at=too_late,
                         lines=[OrderLineInput(sku="LJ", quantity=1)])
    result = report(campaign)
    variant, holdout = result["variants"][0], result["holdout"]
    assert variant["converted"] == variant["base"] > 0
    assert variant["revenue"] == Decimal("100") * variant["converted"]
    assert holdout["converted"] == 0 and holdout["recipients"] > 0
    assert variant["lift"] is None  # no holdout conversions: the lift cannot be divided


def test_bad_campaigns_are_refused_with_field_paths(personas):
    m = personas.marketing
    a, _b = _templates(m)
    with pytest.raises(InvalidInput) as caught:
        campaign_save(actor=m, name="", segment_id="x",
                      variants=[VariantInput(a.pk, 60), VariantInput(999, 30)],
                      holdout_percent=80, test_percent=50)
    fields = {e.field for e in caught.value.errors}
    assert {"name", "segment", "variants.1.template", "variants", "holdout_percent",
            "test_percent"} <= fields
    assert not Campaign.objects.exists()


def test_a_segment_a_campaign_uses_cannot_be_deleted(personas, client):
    from guanxi.analytics.services import segment_delete
    from guanxi.core.errors import Conflict

    m = personas.marketing
    a, _b = _templates(m)
    segment = _segment(m, "嘉兴")
    campaign_save(actor=m, name="在用", segment_id=segment.pk,
                  variants=[VariantInput(a.pk, 100)])
    with pytest.raises(Conflict) as caught:
        segment_delete(actor=m, segment=segment)
    assert "在用" in caught.value.message
    from guanxi.testing import bearer

    answer = client.delete(f"/api/v1/segments/{segment.pk}", headers=bearer(m))
    assert answer.status_code == 409 and "在用" in answer.json()["detail"]


def test_an_id_out_of_range_is_a_422_not_a_server_error(client, personas):
    """Found by schemathesis: a template id beyond 64 bits overflowed SQLite (a 500)."""
    from guanxi.testing import bearer

    r = client.post("/api/v1/campaigns", data={
        "name": "x", "segment_id": 1, "variants": [{"template_id": 2**70, "share": 100}]},
        content_type="application/json", headers=bearer(personas.manager))
    assert r.status_code == 422, r.content
    assert "template_id" in r.content.decode()
