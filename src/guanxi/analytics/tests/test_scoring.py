"""The scoring job against the database: scores, change events, the 360 page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from django.urls import reverse
from django.utils import timezone

from guanxi.analytics.models import CustomerScore
from guanxi.analytics.services import scores_refresh
from guanxi.customers import services as cs
from guanxi.customers.models import Event
from guanxi.testing import make_customer

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


def test_churn_risk_is_scored_once_there_is_history(simulated_shop):
    # given a business with a long purchase history (simulated), scored from the database
    as_of = simulated_shop(400)
    # when
    summary = scores_refresh(as_of=as_of)
    # then
    assert summary["churn_model"] == 1 and summary["churn_auc"] > 0.6
    scored = CustomerScore.objects.exclude(churn_risk=None)
    assert scored.count() > 300
    assert all(0 <= s.churn_risk <= 1 for s in scored)
    assert any(s.churn_reasons for s in scored)


def test_scores_through_the_api_and_csv(client, personas):
    from guanxi.audit.models import AuditEntry
    from guanxi.testing import bearer

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


@pytest.fixture
def shared_database():
    """Worker processes open the test database too: not possible in memory (`make test`
    gives SQLite a file through GUANXI_TEST_SQLITE)."""
    from django.db import connection

    if connection.vendor == "sqlite" and "memory" in str(connection.settings_dict["NAME"]):
        pytest.skip("worker processes cannot open an in-memory SQLite database; "
                    "set GUANXI_TEST_SQLITE to a file (as make test does)")


@pytest.mark.django_db(transaction=True)
def test_worker_processes_score_their_ranges_as_this_process_would(simulated_shop, monkeypatch,
                                                                    shared_database):
    """A full run shared by two worker processes (each reading, then scoring and writing
    the ranges it holds) gives the scores a run in one process gives."""
    from guanxi.analytics import services

    as_of = simulated_shop(300)
    monkeypatch.setattr(services, "RANGE_SIZE", 70)  # several ranges per process
    fields = ("customer_id", "stage", "tier", "cell", "r", "f", "m", "frequency", "monetary",
              "recency_days", "expected_purchases", "p_alive", "clv", "churn_risk")

    def scores():
        return {row[0]: row for row in CustomerScore.objects.order_by("customer_id")
                .values_list(*fields)}

    alone = scores_refresh(as_of=as_of, processes=1)
    first = scores()
    shared = scores_refresh(as_of=as_of, processes=2)
    second = scores()
    assert alone["ranges"] >= 4 and shared["processes"] == 2
    assert shared["customers"] == alone["customers"] == len(first) == len(second)
    assert shared["churn_auc"] == alone["churn_auc"]
    for key, a in first.items():
        b = second[key]
        assert a[:10] == b[:10]
        # the second run's purchase model starts from the first's: equal to fit precision
        # (and to the cent the value is stored in)
        assert [float(v) for v in a[10:] if v is not None] == pytest.approx(
            [float(v) for v in b[10:] if v is not None], rel=1e-3, abs=0.011)
    changes = Event.objects.filter(kind__in=["stage_changed", "tier_changed"]).count()
    assert changes == alone["changed"] and shared["changed"] == 0


def test_churn_samples_are_shared_out_as_one_uniform_draw():
    from guanxi.analytics.scoring import RangeRead, sample_counts

    reads = [RangeRead(lo, pd.DataFrame(), {"train": n, "test": n + 5})
             for lo, n in ((1, 100), (101, 0), (201, 300))]
    few = sample_counts(reads, 50, seed=1)
    assert sum(c["train"] for c in few.values()) == 50 and few[101]["train"] == 0
    assert all(few[r.lo]["test"] <= r.buyers["test"] for r in reads)
    every = sample_counts(reads, 10_000, seed=1)
    assert {lo: c["train"] for lo, c in every.items()} == {1: 100, 101: 0, 201: 300}
    # shares follow the ranges' sizes over many draws
    third = np.mean([sample_counts(reads, 80, seed=s)[201]["train"] for s in range(200)])
    assert 57 < third < 63


def test_churn_features_count_tier_changes_not_first_tiers(personas):
    from guanxi.analytics import scoring

    now = timezone.now()
    c = make_customer(personas.manager, full_name="王芳")
    _buy(personas.manager, c, now - dt.timedelta(days=100))
    Event.objects.bulk_create([
        Event(customer=c, kind="tier_changed", occurred_at=now - dt.timedelta(days=90),
              data={"from": None, "to": "low_value"}),
        Event(customer=c, kind="tier_changed", occurred_at=now - dt.timedelta(days=30),
              data={"from": "low_value", "to": "general_value"}),
        Event(customer=c, kind="stage_changed", occurred_at=now - dt.timedelta(days=30),
              data={"from": "new", "to": "active"})])
    data = scoring.read_range(0, 0, now, ids=[c.pk])
    features = scoring.cutoff_features(data, now.timestamp(), label=False)
    assert features.loc[c.pk, "tier_changes_365"] == 1


def test_score_command_reports_progress_to_the_end(personas):
    import io

    from django.core.management import call_command

    c = make_customer(personas.manager, full_name="王芳")
    _buy(personas.manager, c, timezone.now() - dt.timedelta(days=3))
    seen = []
    scores_refresh(progress=lambda step, done, total: seen.append((step, done, total)))
    assert seen[0][0] == "reading orders and events" and seen[-1][1] == seen[-1][2] == 3
    assert [done for _s, done, _t in seen] == sorted(done for _s, done, _t in seen)
    out = io.StringIO()
    call_command("score", stdout=out)
    assert "Scored 1 customers" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_a_failing_worker_process_fails_the_run_with_its_error(personas, shared_database):
    from guanxi.analytics.scoring import RangeWorkers

    with pytest.raises(RuntimeError, match="a scoring worker failed") as failure, \
            RangeWorkers([(1, 10), (10, 20)], "not a moment", 365, 365, 2) as pool:  # type: ignore[arg-type]
        list(pool.read())
    assert "not a moment" in str(failure.value)  # the worker's own traceback


def test_a_customer_younger_than_the_churn_horizon_is_too_new_to_tell(simulated_shop, personas,
                                                                    client):
    as_of = simulated_shop(400)
    newcomer = make_customer(personas.manager, full_name="新客人")
    _buy(personas.manager, newcomer, as_of - dt.timedelta(hours=1))
    scores_refresh(as_of=as_of)
    assert CustomerScore.objects.exclude(churn_risk=None).count() > 300  # the others
    score = CustomerScore.objects.get(customer=newcomer)
    assert score.churn_risk is None and not score.churn_reasons
    client.force_login(personas.manager)
    page = client.get(reverse("customers:detail", args=[newcomer.pk])).content.decode()
    assert "Too new to tell" in page


def test_the_customer_list_filters_by_stage_and_tier(client, personas):
    now = timezone.now()
    loyal = make_customer(personas.manager, full_name="王芳")
    for days in (5, 40, 80, 120):
        _buy(personas.manager, loyal, now - dt.timedelta(days=days), "300.00")
    make_customer(personas.manager, full_name="张伟")
    scores_refresh(as_of=now)
    stage = CustomerScore.objects.get(customer=loyal).stage
    client.force_login(personas.manager)
    page = client.get(f"/customers/?stage={stage}").content.decode()
    assert "王芳" in page and "张伟" not in page and "1 customer" in page
    page = client.get("/customers/?tier=no_purchases").content.decode()
    assert "张伟" in page and "王芳" not in page
    # the export and bulk actions take the same filter
    rows = b"".join(client.get(f"/customers/export.csv?stage={stage}&everyone=1")
                    .streaming_content).decode("utf-8-sig")
    assert "王芳" in rows and "张伟" not in rows
