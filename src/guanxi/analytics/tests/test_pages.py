"""The analytics pages: charts, the segment builder and its live count, segment history
and exports, the scoring settings, incremental scoring and on-demand churn reasons."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from guanxi.analytics import scoring
from guanxi.analytics.models import CustomerScore, ScoringRun, Segment, SegmentSize
from guanxi.analytics.selectors import cohort_retention, stage_flows
from guanxi.analytics.services import (
    scores_refresh,
    scores_refresh_changed,
    scores_start,
    segment_save,
)
from guanxi.audit.models import AuditEntry
from guanxi.core.errors import Conflict
from guanxi.customers import services as cs
from guanxi.customers.models import Event
from guanxi.testing import make_customer

pytestmark = pytest.mark.django_db


def _buy(actor, customer, when, amount="100.00"):
    cs.order_create(actor=actor, customer=customer, placed_at=when, lines=[
        cs.OrderLineInput(sku="X", quantity=1, unit_price=Decimal(amount), name="tea")])


@pytest.fixture
def shop(personas):
    now = timezone.now()
    loyal = make_customer(personas.manager, full_name="王芳", owner=personas.sales)
    for days in (5, 40, 80):
        _buy(personas.manager, loyal, now - dt.timedelta(days=days), "300.00")
    quiet = make_customer(personas.manager, full_name="李娜", owner=personas.outsider)
    _buy(personas.manager, quiet, now - dt.timedelta(days=250), "50.00")
    browsing = make_customer(personas.manager, full_name="张伟")
    scores_refresh(as_of=now)
    return loyal, quiet, browsing


def _chart(page: str, chart_id: str) -> dict:
    start = page.index(f'<script id="{chart_id}" type="application/json">')
    body = page[start:].split(">", 1)[1].split("</script>", 1)[0]
    return json.loads(body)


def test_overview_draws_the_charts_from_visible_customers(client, personas, shop):
    client.force_login(personas.manager)
    page = client.get(reverse("analytics:overview")).content.decode()
    assert "echarts-6.1.0/echarts.min.js" in page
    stages = _chart(page, "chart-stages")
    assert sum(d["value"] for d in stages["series"][0]["data"]) == 3
    # each bar opens the customer list filtered to its stage, in that stage's colour
    first = stages["series"][0]["data"][0]
    assert first["url"].startswith("/customers/?stage=") and first["itemStyle"]["color"]
    rfm = _chart(page, "chart-rfm")
    assert sum(cell[2] for cell in rfm["series"][0]["data"]) == 2  # two buyers scored
    flows = _chart(page, "chart-flows")
    assert sum(link["value"] for link in flows["series"][0]["links"]) == 3
    assert _chart(page, "chart-cohorts")["series"][0]["type"] == "heatmap"
    # sales staff see their own team's customers only
    client.force_login(personas.sales)
    page = client.get(reverse("analytics:overview")).content.decode()
    assert sum(d["value"] for d in _chart(page, "chart-stages")["series"][0]["data"]) == 1
    client.force_login(personas.norole)
    assert client.get(reverse("analytics:overview")).status_code == 403


def test_stage_flows_between_two_dates(personas, shop):
    loyal = shop[0]
    later = timezone.now() + dt.timedelta(days=200)
    scores_refresh(as_of=later)  # the loyal customer's last purchase is now 205 days ago
    flows = stage_flows(actor=personas.manager, start=timezone.now() - dt.timedelta(days=1),
                        end=later)
    moved = {(a, b): n for a, b, n in flows}
    assert moved[("not_scored", "dormant")] >= 1  # scored for the first time today...
    # ...and on the later date the loyal customer has gone dormant
    assert CustomerScore.objects.get(customer=loyal).stage == "dormant"


def test_cohort_retention(personas):
    today = timezone.localdate()
    month = today.replace(day=1)
    a = make_customer(personas.manager, full_name="甲")
    b = make_customer(personas.manager, full_name="乙")
    first = timezone.make_aware(dt.datetime.combine(month - dt.timedelta(days=40),
                                                    dt.time(12)))
    _buy(personas.manager, a, first)
    _buy(personas.manager, b, first)
    _buy(personas.manager, a, first + dt.timedelta(days=35))
    cohorts = cohort_retention(actor=personas.manager, months=12)
    assert cohorts[0]["customers"] == 2
    assert cohorts[0]["retention"][0] == 100.0
    assert 50.0 in cohorts[0]["retention"][1:]


def test_segment_builder_live_count_and_save(client, personas, shop):
    client.force_login(personas.marketing)
    page = client.get(reverse("analytics:segment_new")).content.decode()
    assert "segment-builder.js" in page and 'id="segment-fields"' in page
    fields = _chart(page, "segment-fields")
    assert {"stage", "tier", "churn_risk", "bought_category", "event"} <= {
        f["key"] for f in fields}
    count_url = reverse("analytics:segment_count")
    rules = {"op": "and", "rules": [{"field": "stage", "operator": "in",
                                     "value": ["dormant", "churned"]}]}
    r = client.post(count_url, rules, content_type="application/json")
    assert r.json() == {"count": 1}
    bad = {"op": "and", "rules": [{"field": "r", "operator": "gte", "value": "high"}]}
    r = client.post(count_url, bad, content_type="application/json")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "rules.rules.0.value"
    # saving bad rules keeps what the user typed and names the rule
    r = client.post(reverse("analytics:segment_new"),
                    {"name": "Win back", "rules": json.dumps(bad)})
    assert r.status_code == 422 and "rules.rules.0.value" in r.content.decode()
    assert not Segment.objects.exists()
    r = client.post(reverse("analytics:segment_new"),
                    {"name": "Win back", "rules": json.dumps(rules)})
    segment = Segment.objects.get()
    assert r.status_code == 302 and segment.member_count == 1
    assert AuditEntry.objects.filter(action="segment.create").exists()
    # the same name twice is refused
    r = client.post(reverse("analytics:segment_new"),
                    {"name": "Win back", "rules": json.dumps(rules)})
    assert r.status_code == 422
    # service staff may not build segments
    client.force_login(personas.service)
    assert client.get(reverse("analytics:segment_new")).status_code == 403


def test_segment_history_refresh_and_exports(client, personas, shop):
    from openpyxl import load_workbook

    browsing = shop[2]
    segment = segment_save(actor=personas.manager, name="Buyers", rules={
        "field": "frequency", "operator": "gte", "value": 1})
    client.force_login(personas.manager)
    page = client.get(reverse("analytics:segment", args=[segment.pk])).content.decode()
    sizes = _chart(page, "chart-sizes")
    assert sizes["series"][0]["data"][-1][1] == 2
    _buy(personas.manager, browsing, timezone.now() - dt.timedelta(hours=1))
    scores_refresh_changed()
    client.post(reverse("analytics:segment_refresh", args=[segment.pk]))
    last = SegmentSize.objects.filter(segment=segment).last()
    assert (last.members, last.joined, last.left) == (3, 1, 0)
    # members in the customer list and its exports, by segment
    listed = client.get(reverse("customers:list") + f"?segment={segment.pk}").content.decode()
    assert "张伟" in listed and "Buyers" in listed
    r = client.get(reverse("customers:export") + f"?segment={segment.pk}&format=xlsx&everyone=1")
    book = load_workbook(io.BytesIO(r.content))
    rows = list(book.active.iter_rows(values_only=True))
    assert len(rows) == 4 and rows[0][0] == "ID"  # headers in the user's language
    r = client.get(reverse("analytics:scores_export") + f"?segment={segment.pk}&format=xlsx")
    assert len(list(load_workbook(io.BytesIO(r.content)).active.iter_rows())) == 4
    # the API selects customers by segment too
    from guanxi.testing import bearer

    api = client.get(f"/api/v1/customers?segment_id={segment.pk}&limit=10",
                     headers=bearer(personas.manager)).json()
    assert len(api["items"]) == 3
    client.post(reverse("analytics:segment_delete", args=[segment.pk]))
    assert not Segment.objects.exists()


def test_settings_change_the_stages(client, personas, shop):
    loyal, quiet, _browsing = shop
    client.force_login(personas.manager)
    r = client.post(reverse("analytics:settings"), {
        "rfm.window_days": "365", "rfm.method": "quantile",
        "rfm.recency_breaks": "30, 90, 180, 365", "rfm.frequency_breaks": "1, 2, 4, 8",
        "rfm.monetary_breaks": "100, 500, 2000, 10000", "rfm.high_score": "4",
        "lifecycle.window_days": "365", "lifecycle.new_days": "30",
        "lifecycle.active_days": "90", "lifecycle.active_min_purchases": "2",
        "lifecycle.dormant_days": "400", "lifecycle.churned_days": "300",
        "lifecycle.high_value_share": "0.1"})
    assert r.status_code == 422 and "lifecycle.dormant_days" in r.content.decode()
    r = client.post(reverse("analytics:settings"), {
        "rfm.window_days": "365", "rfm.method": "fixed",
        "rfm.recency_breaks": "30, 90, 180, 365", "rfm.frequency_breaks": "1, 2, 4, 8",
        "rfm.monetary_breaks": "100, 500, 2000, 10000", "rfm.high_score": "4",
        "lifecycle.window_days": "365", "lifecycle.new_days": "30",
        "lifecycle.active_days": "90", "lifecycle.active_min_purchases": "2",
        "lifecycle.dormant_days": "300", "lifecycle.churned_days": "500",
        "lifecycle.high_value_share": "0"})
    assert r.status_code == 302
    scores_refresh()
    # 250 days quiet is no longer dormant with dormant_days=300
    assert CustomerScore.objects.get(customer=quiet).stage == "potential"
    assert CustomerScore.objects.get(customer=loyal).m == 3  # fixed: 900 spent is in 500–2000
    assert AuditEntry.objects.filter(action="analytics.settings").exists()
    client.force_login(personas.marketing)
    assert client.get(reverse("analytics:settings")).status_code == 403


def test_a_run_started_from_the_page_reports_progress(client, personas, shop,
                                                       django_capture_on_commit_callbacks):
    from guanxi.core.models import WorkItem
    from guanxi.core.work import work_drain

    with django_capture_on_commit_callbacks(execute=False):
        run = scores_start(actor=personas.manager)
    # a second start while the first is queued is refused
    with pytest.raises(Conflict):
        scores_start(actor=personas.manager)
    assert work_drain(["analytics.scoring"]) == 1  # the worker's side
    assert WorkItem.objects.get(queue="analytics.scoring").state == "done"
    run.refresh_from_db()
    assert run.status == "done" and run.customers == 3 and run.done == run.total
    assert run.figures["read_s"] >= 0 and run.fitted
    client.force_login(personas.manager)
    page = client.get(reverse("analytics:scoring_progress")).content.decode()
    assert 'data-testid="scoring-done"' in page


def test_incremental_scoring_uses_the_last_runs_models(personas, shop):
    browsing = shop[2]
    assert CustomerScore.objects.get(customer=browsing).tier == "no_purchases"
    _buy(personas.manager, browsing, timezone.now() - dt.timedelta(hours=2), "80.00")
    summary = scores_refresh_changed()
    assert summary == {"customers": 1, "changed": 1}  # the tier (still a new customer)
    score = CustomerScore.objects.get(customer=browsing)
    assert score.frequency == 1 and score.tier != "no_purchases"
    assert Event.objects.filter(customer=browsing, kind="tier_changed").exists()
    assert scores_refresh_changed() == {"customers": 0, "changed": 0}  # nothing new
    assert ScoringRun.objects.filter(incremental=True).count() == 1


def test_rfm_thresholds_reproduce_quantile_scores():
    import numpy as np
    import pandas as pd

    from guanxi.analytics.rfm import RFMConfig, rfm_scores

    rng = np.random.default_rng(3)
    values = pd.DataFrame({"recency_days": rng.exponential(60, 500).round(1),
                           "frequency": rng.integers(1, 6, 500).astype(float),
                           "monetary": rng.gamma(2, 100, 500).round(2)})
    scores = rfm_scores(values, RFMConfig())
    thresholds = scoring._thresholds(values, scores)
    for dim, column, sign in (("r", "recency_days", -1.0), ("f", "frequency", 1.0),
                              ("m", "monetary", 1.0)):
        again = scoring._score(sign * values[column].to_numpy(), thresholds[dim])
        assert (again == scores[dim].to_numpy()).all()


def test_churn_reasons_on_demand_for_large_bases(personas, monkeypatch, simulated_shop):
    from guanxi.analytics.scoring import fitting
    from guanxi.analytics.selectors import customer_score_get

    monkeypatch.setattr(fitting, "REASONS_MAX", 0)  # as if the base were huge
    as_of = simulated_shop(300)
    summary = scores_refresh(as_of=as_of)
    assert summary["churn_model"] == 1
    stored = CustomerScore.objects.exclude(churn_risk=None)
    assert not any(s.churn_reasons for s in stored)
    shown = [customer_score_get(actor=personas.manager, customer_id=s.customer_id)
             for s in stored[:30]]
    assert any(s.churn_reasons for s in shown)


def test_segments_through_the_api(client, personas, shop):
    from guanxi.testing import bearer

    headers = bearer(personas.marketing)
    made = client.post("/api/v1/segments", {"name": "Buyers", "rules": {
        "field": "frequency", "operator": "gte", "value": 1}},
        content_type="application/json", headers=headers)
    assert made.status_code == 201 and made.json()["member_count"] == 2
    pk = made.json()["id"]
    assert [s["name"] for s in client.get("/api/v1/segments", headers=headers).json()] == [
        "Buyers"]
    changed = client.put(f"/api/v1/segments/{pk}", {"name": "Everyone", "rules": {
        "field": "frequency", "operator": "gte", "value": 0}},
        content_type="application/json", headers=headers)
    assert changed.json()["member_count"] == 3
    sizes = client.get(f"/api/v1/segments/{pk}/sizes", headers=headers).json()
    assert [s["members"] for s in sizes] == [2, 3]
    bad = client.put(f"/api/v1/segments/{pk}", {"name": "x", "rules": {"op": "xor",
                                                                        "rules": []}},
                     content_type="application/json", headers=headers)
    assert bad.status_code == 422 and "rules.op" in bad.content.decode()
    # service staff may read audiences but not change them
    assert client.delete(f"/api/v1/segments/{pk}",
                         headers=bearer(personas.service)).status_code == 403
    assert client.delete(f"/api/v1/segments/{pk}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/segments/{pk}", headers=headers).status_code == 404


def test_demo_segments_are_made_once(personas, shop):
    from guanxi.analytics.services import demo_segments

    assert demo_segments(actor=personas.admin) == 3
    assert demo_segments(actor=personas.admin) == 0
    assert Segment.objects.count() == 3


def test_range_facts_match_the_public_definitions():
    """The scoring job's numpy facts equal summary_from_transactions (lifetimes'
    definitions) and rfm_values on the same orders."""
    import numpy as np
    import pandas as pd

    from guanxi.analytics.clv import summary_from_transactions
    from guanxi.analytics.rfm import rfm_values

    rng = np.random.default_rng(8)
    now = pd.Timestamp("2026-06-30 12:00", tz="UTC")
    orders = pd.DataFrame({
        "customer_id": rng.integers(1, 60, 600),
        "placed_at": now - pd.to_timedelta(rng.uniform(0, 700, 600).round(3), unit="D"),
        "total": rng.gamma(2, 50, 600).round(2)})
    data = scoring.RangeData(
        ids=np.arange(1, 60), created=np.full(59, now.timestamp() - 800 * 86400),
        order_customer=orders["customer_id"].to_numpy(),
        order_time=((orders["placed_at"] - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
                    .round().to_numpy()),
        order_total=orders["total"].to_numpy(), event_customer=np.empty(0, np.int64),
        event_time=np.empty(0), event_code=np.empty(0, np.int64),
        event_channel=np.empty(0, np.int64))
    facts = scoring.range_facts(data, now.timestamp(), 365, 365)
    expected = summary_from_transactions(orders, "customer_id", "placed_at", "total",
                                         observation_end=now.tz_convert(None))
    got = facts.loc[expected.index, ["frequency", "recency", "T", "monetary_value"]]
    assert np.allclose(got.to_numpy(), expected.to_numpy())
    values = rfm_values(orders, as_of=now, window_days=365)
    assert np.allclose(facts.loc[values.index, "rfm_days"], values["frequency"])
    assert np.allclose(facts.loc[values.index, "rfm_spend"], values["monetary"])
    assert np.allclose((now.timestamp() - facts.loc[values.index, "rfm_last_at"]) / 86400,
                       values["recency_days"], atol=1e-4)
