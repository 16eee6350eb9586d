"""The staff UI in real Chromium: log in, search, open a 360 page, log a note, see it on the
timeline; in English and in Simplified Chinese."""

from __future__ import annotations

import os

import pytest

from guanxi.testing import browser_sign_in, make_customer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("language", "words"), [
    ("en", {"save": "Save", "timeline": "Timeline", "customers": "Customers"}),
    ("zh-hans", {"save": "保存", "timeline": "时间线", "customers": "客户"}),
])
def test_login_search_open_360_log_note(browser, live_server, personas, language, words):
    # given a customer owned by the salesperson's team
    customer = make_customer(personas.admin, full_name="欧阳娜娜", phones=["13900001111"],
                             owner=personas.sales)
    make_customer(personas.admin, full_name="张伟", phones=["13800138000"])
    context = browser.new_context(locale="zh-CN" if language == "zh-hans" else "en-US")
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        # when the salesperson logs in
        browser_sign_in(page, live_server.url, "sales", language)
        assert page.url.endswith("/customers/")
        assert page.locator("html").get_attribute("lang") == language
        assert words["customers"] in page.locator("[data-testid=nav]").inner_text()
        # and searches by the last digits of the phone (instant search via htmx)
        page.fill("[data-testid=search]", "1111")
        page.wait_for_function(
            "() => document.querySelectorAll('[data-testid=results] tbody a').length === 1")
        assert "张伟" not in page.locator("[data-testid=results]").inner_text()
        page.click("[data-testid=results] tbody a")
        page.wait_for_url(f"**/customers/{customer.pk}/")
        assert page.inner_text("[data-testid=customer-name]") == "欧阳娜娜"
        assert words["timeline"] in page.content()
        # and logs a note
        note = f"Called about 龙井 ({language})"
        page.select_option("#id_kind", "note")
        page.fill("[data-testid=interaction-summary]", note)
        page.click(f"[data-testid=interaction-save]:has-text('{words['save']}')")
        # then the note is on the timeline without a page reload
        page.wait_for_function(
            f"() => document.querySelector('[data-testid=timeline]').innerText.includes({note!r})")
        assert page.locator("[data-testid=interaction-summary]").input_value() == ""
        page.screenshot(path=os.path.join(os.environ.get("GUANXI_SCREENSHOTS", "/tmp"),
                                          f"guanxi-360-{language}.png"), full_page=True)
    finally:
        context.close()
    assert customer.events.filter(kind="note", summary=note, actor=personas.sales).exists()
