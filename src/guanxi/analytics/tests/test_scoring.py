"""The scoring job against the database: scores, change events, the 360 page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from guanxi.analytics.models import CustomerScore
from guanxi.analytics.services import scores_refresh
from guanxi.core.testing import make_customer
from guanxi.customers import services as cs
from guanxi.customers.models import Event

pytestmark = pytest.mark.django_db


def _buy(actor, customer, when, amount="100.00"):
    cs.order_create(actor=actor, customer=customer, placed_at=when, lines=[
        cs.OrderLineInput(sku="X", quantity=1, unit_price=Decimal(amount), name="tea")])


def test_scores_stages_and_change_events(personas):
    now = timezone.now()
    loyal = make_customer(personas.manager, full_name="王芳")
    for days in (5, 40, 80, 120):
        _buy(personas.manager, loyal, now - dt.timedelta(days=days), "300.00")
    quiet = make_customer(personas.manager, full_name="李娜")
    _buy(personas.manager, quiet, now - dt.timedelta(days=250), "50.00")
    browsing = make_customer(personas.manager, full_name="张伟")
    summary = scores_refresh(as_of=now)
    assert summary["customers"] == 3
    score = CustomerScore.objects.get(customer=loyal)
    assert (score.frequency, score.monetary, score.r, score.f) == (4, Decimal("1200.00"),
                                                                   5, 5)
    assert score.stage in ("high_value", "active") and score.tier == "important_value"
    assert CustomerScore.objects.get(customer=quiet).stage == "dormant"
    assert CustomerScore.objects.get(customer=browsing).tier == "no_purchases"
    assert Event.objects.filter(customer=quiet, kind="stage_changed").count() == 1
    # a second run with nothing new writes no new events
    before = Event.objects.filter(kind__in=["stage_changed", "tier_changed"]).count()
    scores_refresh(as_of=now)
    assert Event.objects.filter(kind__in=["stage_changed", "tier_changed"]).count() == before
    # a month later the quiet customer is still dormant, the loyal one still scored
    scores_refresh(as_of=now + dt.timedelta(days=130))
    change = Event.objects.filter(customer=quiet, kind="stage_changed").order_by("-pk").first()
    assert change.data["to"] == "churned"


def test_360_page_shows_the_scores(client, personas):
    now = timezone.now()
    c = make_customer(personas.manager, full_name="王芳")
    _buy(personas.manager, c, now - dt.timedelta(days=3))
    scores_refresh(as_of=now)
    client.force_login(personas.manager)
    page = client.get(reverse("customers:detail", args=[c.pk])).content.decode()
    assert 'data-testid="scores"' in page and "High value" in page  # the only buyer tops spend


def test_churn_risk_is_scored_once_there_is_history(personas, monkeypatch):
    # given a business with a long purchase history (simulated), scored from the database
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_churn import START, simulate

    orders, events = simulate(customers=400, seed=5)
    people = {c: make_customer(personas.manager, full_name=f"客户{c}")
              for c in sorted(orders["customer_id"].unique())}
    from guanxi.customers.models import Order

    Order.objects.bulk_create([Order(customer=people[c], total=Decimal(str(round(t, 2))),
                                     placed_at=at.tz_localize("UTC"))
                               for c, at, t in orders.itertuples(index=False)])
    Event.objects.bulk_create([Event(customer=people[c], kind=k,
                                     occurred_at=at.tz_localize("UTC"), channel=ch)
                               for c, k, at, ch in events.itertuples(index=False)
                               if c in people])
    # when
    summary = scores_refresh(as_of=(START + dt.timedelta(days=730)).tz_localize("UTC"))
    # then
    assert summary["churn_model"] == 1 and summary["churn_auc"] > 0.6
    scored = CustomerScore.objects.exclude(churn_risk=None)
    assert scored.count() > 300
    assert all(0 <= s.churn_risk <= 1 for s in scored)
    assert any(s.churn_reasons for s in scored)


def test_scores_through_the_api_and_csv(client, personas):
    from guanxi.audit.models import AuditEntry
    from guanxi.core.testing import bearer

    now = timezone.now()
    own = make_customer(personas.admin, full_name="王芳", owner=personas.sales)
    other = make_customer(personas.admin, full_name="=HYPERLINK(1)", owner=personas.outsider)
    for c in (own, other):
        _buy(personas.manager, c, now - dt.timedelta(days=3))
    scores_refresh(as_of=now)
    r = client.get(f"/api/v1/customers/{own.pk}/score", headers=bearer(personas.sales))
    assert r.status_code == 200 and r.json()["stage"] in ("new", "high_value")
    # sales see their own team's customers only
    assert client.get(f"/api/v1/customers/{other.pk}/score",
                      headers=bearer(personas.sales)).status_code == 404
    listed = client.get("/api/v1/scores?limit=1", headers=bearer(personas.manager)).json()
    assert len(listed["items"]) == 1 and listed["next_cursor"]
    client.force_login(personas.manager)
    body = b"".join(client.get(reverse("analytics:scores_csv")).streaming_content)
    text = body.decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in text and text.count("\n") == 3
    assert AuditEntry.objects.filter(action="analytics.scores_export").exists()
    client.force_login(personas.sales)  # no export right
    assert client.get(reverse("analytics:scores_csv")).status_code == 403
