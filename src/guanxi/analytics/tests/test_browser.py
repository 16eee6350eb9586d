"""Done means, in real Chromium: the analytics page draws its charts, a segment is built
with the rule builder while its count updates live, saved, and shows its size over time;
a scoring run started from the settings page shows its progress and finishes."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal

import pytest
from django.utils import timezone

from guanxi.analytics.services import scores_refresh
from guanxi.customers import services as cs
from guanxi.testing import make_customer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def scored_shop(personas):
    now = timezone.now()
    for i, days in enumerate((3, 20, 45, 200, 260, 400)):
        c = make_customer(personas.manager, full_name=f"客户{i}")
        for k in range(1 + i % 3):
            cs.order_create(actor=personas.manager, customer=c,
                            placed_at=now - dt.timedelta(days=days + 30 * k),
                            lines=[cs.OrderLineInput(sku="X", quantity=1, name="茶",
                                                     unit_price=Decimal(100 + 50 * i))])
    make_customer(personas.manager, full_name="只看不买")
    scores_refresh(as_of=now - dt.timedelta(days=20))  # a first run, for the stage flows
    scores_refresh(as_of=now)


@pytest.fixture
def logged_in(browser, live_server, personas, huey_immediate, scored_shop):
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.set_default_timeout(20000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "manager")
    page.fill("input[name=password]", "pw-for-tests-1")
    page.click("button[type=submit]")
    page.wait_for_url("**/customers/")
    yield page
    context.close()


def _shot(page, name):
    page.screenshot(path=os.path.join(os.environ.get("GUANXI_SCREENSHOTS", "/tmp"),
                                      f"guanxi-{name}.png"), full_page=True)


def test_analytics_page_draws_the_charts(logged_in):
    page = logged_in
    page.click("[data-testid=nav] >> text=Analytics")
    for chart in ("stages", "tiers", "rfm", "flows", "cohorts"):
        # ECharts drew a canvas into each chart
        page.wait_for_selector(f"[data-testid=chart-{chart}][data-ready='1'] canvas")
    page.wait_for_timeout(1500)  # let the charts' entry animations finish for the picture
    _shot(page, "analytics")
    # A click on a stage's bar opens the customer list filtered to that stage.
    point = page.evaluate("""() => {
        const el = document.querySelector('[data-testid=chart-stages]');
        const chart = echarts.getInstanceByDom(el);
        const data = chart.getOption().series[0].data;
        const [x, y] = chart.convertToPixel({seriesIndex: 0}, [0, data[0].value / 2]);
        const box = el.getBoundingClientRect();
        return {x: box.left + x, y: box.top + y, url: data[0].url};
    }""")
    page.mouse.click(point["x"], point["y"])
    page.wait_for_url("**/customers/?stage=*")
    stage = point["url"].split("stage=")[1]
    assert page.locator(f"#f-stage option[value={stage}]").get_attribute("selected") is not None
    assert "customers" in page.locator("[data-testid=total]").inner_text()


def test_build_a_segment_with_a_live_count(logged_in):
    page = logged_in
    page.click("[data-testid=nav] >> text=Segments")
    page.click("[data-testid=segment-new]")
    page.fill("[data-testid=segment-name-input]", "Slipping away")
    # a new rule starts empty and asks for a field (no count until it has one)
    assert page.locator("[data-testid=rule-operator]").count() == 0
    page.wait_for_function("() => document.getElementById('count-error').innerText.length > 0")
    # when the rule becomes "days since the last purchase at least 30"
    page.select_option("[data-testid=rule-field]", "recency_days")
    page.select_option("[data-testid=rule-operator]", "gte")
    page.fill("[data-testid=rule-value]", "30")
    page.wait_for_function("() => document.getElementById('live-count').innerText === '3'")
    # and, with ANY instead of ALL, a group is added: or a lifecycle stage of churned
    page.locator("[data-testid=group] .gx-group-head select").first.select_option("or")
    page.click("[data-testid=add-group]")
    group = page.locator("[data-testid=group] [data-testid=group]")
    group.locator("[data-testid=rule-field]").select_option("stage")
    group.locator("[data-testid=rule-operator]").select_option("equals")
    group.locator("[data-testid=rule-value]").select_option("churned")
    page.wait_for_function("() => document.getElementById('live-count').innerText === '4'")
    _shot(page, "segment-builder")
    page.click("[data-testid=segment-save]")
    # then the segment page shows its members and its size over time
    page.wait_for_selector("[data-testid=segment-name]")
    assert page.inner_text("[data-testid=segment-name]") == "Slipping away"
    page.wait_for_selector("[data-testid=chart-sizes][data-ready='1'] canvas")
    assert page.inner_text("[data-testid=member-count]") == "4"
    page.click("[data-testid=segment-refresh]")
    page.wait_for_selector("text=Refreshed:")
    _shot(page, "segment")


def test_bad_rule_is_named_in_the_builder(logged_in):
    page = logged_in
    page.goto(page.url.split("/customers/")[0] + "/analytics/segments/new")
    page.select_option("[data-testid=rule-field]", "event")
    page.fill("[data-testid=rule-value] input[type=number]", "99999")
    page.wait_for_selector(".gx-rule-error")
    assert "Days must be 1 to 3650" in page.inner_text("[data-testid=count-error]")


def test_rescore_from_the_settings_page(logged_in):
    page = logged_in
    page.goto(page.url.split("/customers/")[0] + "/analytics/settings")
    page.click("[data-testid=rescore]")
    page.wait_for_selector("[data-testid=scoring-done]")
    assert "7 customers scored" in page.inner_text("[data-testid=scoring-done]")
