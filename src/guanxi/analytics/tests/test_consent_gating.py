"""Consent gates marketing: a marketing audience holds only customers who agree to
marketing, withdrawing the consent takes them out of it and out of the default export at
once, and the export says who agreed on which channel."""

from __future__ import annotations

import csv
import io

import pytest

from guanxi.analytics.models import Segment, SegmentMembership
from guanxi.analytics.services import segment_refresh, segment_save
from guanxi.customers.services import consent_set
from guanxi.testing import grant_marketing, make_customer

pytestmark = pytest.mark.django_db
SHANGHAI = {"field": "region", "operator": "equals", "value": "上海"}


def _export(client, query: str = "") -> list[dict[str, str]]:
    """The machine-readable export (codes as column names)."""
    query = (query + "&" if query else "?") + "codes=1"
    body = b"".join(client.get("/customers/export.csv" + query).streaming_content)
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def test_withdrawing_marketing_consent_leaves_audiences_and_exports_at_once(client, personas):
    agrees = make_customer(personas.admin, full_name="王芳", region="上海")
    silent = make_customer(personas.admin, full_name="李娜", region="上海")
    grant_marketing(personas.admin, agrees, channel="sms")
    grant_marketing(personas.admin, agrees, channel="email")
    audience = segment_save(actor=personas.marketing, name="上海营销", rules=SHANGHAI,
                            purpose="marketing")
    general = segment_save(actor=personas.marketing, name="上海客户", rules=SHANGHAI)
    assert audience.member_count == 1 and general.member_count == 2
    client.force_login(personas.marketing)
    rows = _export(client)
    assert [r["display_name"] for r in rows] == ["王芳"]
    assert rows[0]["consent_marketing"] == "email|sms"
    # withdrawing one channel keeps the other: still in
    consent_set(actor=personas.service, customer=agrees, channel="sms", purpose="marketing",
                granted=False, source="reply TD")
    assert SegmentMembership.objects.filter(segment=audience, left_at__isnull=True).count() == 1
    # withdrawing the last one: out of the audience and the export now, not at a refresh
    consent_set(actor=personas.service, customer=agrees, channel="email",
                purpose="marketing", granted=False, source="unsubscribe link")
    assert not SegmentMembership.objects.filter(segment=audience, customer=agrees,
                                                left_at__isnull=True).exists()
    assert Segment.objects.get(pk=audience.pk).member_count == 0
    assert _export(client) == []
    # the marketing role cannot ask for everyone; a manager can, for another purpose
    assert _export(client, "?everyone=1") == []
    client.force_login(personas.manager)
    everyone = {r["display_name"]: r for r in _export(client, "?everyone=1")}
    assert set(everyone) == {"王芳", "李娜"} and everyone["李娜"]["consent_marketing"] == ""
    # the general segment is not a marketing audience: both stay; the next refresh of the
    # audience agrees with the hook
    assert SegmentMembership.objects.filter(segment=general, left_at__isnull=True).count() == 2
    size = segment_refresh(segment=audience)
    assert size.members == 0 and silent.pk not in set(
        SegmentMembership.objects.filter(segment=audience).values_list("customer_id",
                                                                        flat=True))


def test_segment_purpose_is_checked_and_shown_in_the_api(client, personas):
    from guanxi.testing import bearer

    r = client.post("/api/v1/segments", {"name": "营销", "rules": SHANGHAI, "purpose": "spam"},
                    content_type="application/json", headers=bearer(personas.marketing))
    assert r.status_code == 422
    r = client.post("/api/v1/segments", {"name": "营销", "rules": SHANGHAI,
                                         "purpose": "marketing"},
                    content_type="application/json", headers=bearer(personas.marketing))
    assert r.status_code == 201 and r.json()["purpose"] == "marketing"


def test_a_consent_keeps_the_notice_version_and_how_it_was_given(client, personas):
    from guanxi.testing import bearer

    customer = make_customer(personas.admin, full_name="王芳")
    r = client.put(f"/api/v1/customers/{customer.pk}/consents",
                   {"channel": "email", "purpose": "marketing", "granted": True,
                    "source": "web form", "proof": "form 8841", "notice": "2026-03"},
                   content_type="application/json", headers=bearer(personas.marketing))
    assert r.status_code == 200 and r.json()["notice"] == "2026-03"
    listed = client.get(f"/api/v1/customers/{customer.pk}/consents",
                        headers=bearer(personas.marketing)).json()
    email = next(c for c in listed if c["channel"] == "email" and c["purpose"] == "marketing")
    assert email["notice"] == "2026-03" and email["source"] == "web form"
    from guanxi.customers.models import Event

    event = Event.objects.get(customer=customer, kind="consent_changed")
    assert event.data["notice"] == "2026-03"
