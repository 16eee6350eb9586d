"""Done means, in real Chromium: build a three-step automation in the editor, see who
would enter, test-run it on one customer, activate it, and see it act on a new event."""

from __future__ import annotations

import pytest

from guanxi.analytics.services import segment_save
from guanxi.automation.models import Automation, RunStatus
from guanxi.automation.triggers import CONSUMER, read_events
from guanxi.core.work import work_drain
from guanxi.customers.models import CustomerTag
from guanxi.testing import browser_sign_in, make_customer
from guanxi.timeline.cursors import cursor_open

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_build_preview_test_activate_and_see_it_act(browser, live_server, personas):
    m = personas.manager
    shanghai = make_customer(m, full_name="上海张伟", region="上海市")
    make_customer(m, full_name="北京李娜", region="北京市")
    segment_save(actor=m, name="上海客户", rules={"field": "region", "operator": "contains",
                                                "value": "上海"})
    cursor_open(CONSUMER)
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.set_default_timeout(20000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    browser_sign_in(page, live_server.url, "manager", "en")

    page.goto(f"{live_server.url}/automations/")
    page.click("[data-testid=automation-new]")
    page.fill("[data-testid=automation-name]", "Call follow-up")
    page.select_option("[data-trigger='timeline.event'] [data-testid=tc-kind]", "call")
    # step 1: add a tag
    page.click("[data-testid=add-action]")
    page.select_option("[data-testid=step-action]", "customers.tag_add")
    page.fill("[data-testid=config-tag]", "called")
    # step 2: if the customer is in the Shanghai segment, else exit
    page.click("[data-testid=add-branch]")
    page.locator("[data-testid=branch-segment]").select_option(
        label="Customers of segment 上海客户")
    # step 3: log a note
    page.click("[data-testid=add-action]")
    page.locator("[data-testid=step-action]").nth(1).select_option("automation.log_note")
    page.fill("[data-testid=config-text]", "Shanghai customer called: send the tea catalogue")
    assert page.locator("[data-testid=step]").count() == 3
    page.click("[data-testid=automation-save]")
    page.wait_for_selector("[data-testid=automation-steps]")
    automation = Automation.objects.get(name="Call follow-up")
    assert [s["type"] for s in automation.steps] == ["action", "branch", "action"]
    assert page.inner_text("[data-testid=automation-status]").strip() == "Draft"
    # who would enter now: everyone (no entry conditions), with a sample
    assert page.inner_text("[data-testid=would-enter]").strip() == "2"
    # test run on the Shanghai customer: every step, nothing changed
    page.fill("[data-testid=test-search]", "上海张伟")
    page.press("[data-testid=test-search]", "Enter")
    page.click("[data-testid=test-pick]")
    page.wait_for_selector("[data-testid=trace]")
    outcomes = page.locator("[data-testid=trace] li").evaluate_all(
        "els => els.map(e => e.dataset.outcome)")
    assert outcomes == ["would_do", "yes", "would_do", "completed"]
    assert not CustomerTag.objects.exists()
    # activate
    page.click("[data-testid=automation-activate]")
    page.wait_for_selector("[data-testid=automation-pause]")
    assert page.inner_text("[data-testid=automation-status]").strip() == "Active"
    # a new event: a call logged on the customer's page
    page.goto(f"{live_server.url}/customers/{shanghai.pk}/")
    page.select_option("#id_kind", "call")
    page.fill("[data-testid=interaction-summary]", "Asked about Longjing")
    page.click("[data-testid=interaction-save]")
    page.wait_for_function("() => !document.querySelector('[data-testid=interaction-summary]')"
                           ".value")
    read_events()  # what the worker's tick does every second
    work_drain(["automation.step"])
    page.reload()
    assert page.locator("[data-testid=customer-automations]").text_content().count(
        "Call follow-up") == 1
    run = automation.runs.get()
    assert run.status == RunStatus.COMPLETED
    assert set(CustomerTag.objects.values_list("tag__name", flat=True)) == {"called"}
    assert "send the tea catalogue" in page.content()
    assert not errors, errors
    context.close()
