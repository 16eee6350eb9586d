"""The staff workspace in real Chromium: the home page per role, the customer list
(sort, columns, a saved view, a bulk tag on all matching), editing a phone on the 360
page, every main page on a 390 px phone without sideways scrolling, and axe-core's
accessibility rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import timezone

from guanxi.core.work import work_drain
from guanxi.customers import services
from guanxi.customers.models import CustomerTag, Identity
from guanxi.testing import browser_sign_in, make_customer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
WORDS = {"en": {"customers": "customers", "views": "Views", "save": "Save view"},
         "zh-hans": {"customers": "位客户", "views": "视图", "save": "保存视图"}}


def _shop(personas, n=30):
    return [make_customer(personas.admin, full_name=f"Kunde {i:02d}",
                          region="上海市" if i % 2 else "浙江省杭州市",
                          phones=[f"1390000{i:04d}"], owner=personas.sales)
            for i in range(n)]


def _page(browser, live_server, username, language="en", width=1280, height=900):
    context = browser.new_context(viewport={"width": width, "height": height},
                                  locale="zh-CN" if language == "zh-hans" else "en-US")
    page = context.new_page()
    page.set_default_timeout(15000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    browser_sign_in(page, live_server.url, username, language)
    return context, page, errors


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_list_sort_columns_saved_view_and_bulk_tag_on_all_matching(browser, live_server,
                                                                   personas, language):
    _shop(personas, 60)
    context, page, errors = _page(browser, live_server, "manager", language)
    try:
        page.goto(f"{live_server.url}/customers/")
        total = page.locator("[data-testid=total]").inner_text()
        assert "60" in total and WORDS[language]["customers"] in total
        # Sort by name, descending.
        page.click("[data-testid=sort-name]")
        page.click("[data-testid=sort-name]")
        page.wait_for_load_state("load")
        assert "sort=-name" in page.url
        first = page.locator("[data-testid=results] tbody tr").first.inner_text()
        assert "Kunde 59" in first
        # Choose columns: drop the phone, add "customer since".
        page.click("[data-testid=columns]")
        page.uncheck("[data-testid=col-phone]")
        page.check("[data-testid=col-created]")
        page.click("[data-testid=columns-apply]")
        page.wait_for_load_state("load")
        header = page.locator("[data-testid=results] thead").inner_text()
        assert "1390000" not in page.locator("[data-testid=results]").inner_text()
        assert len(page.locator("[data-testid=results] thead th").all()) == 7
        # Filter to Shanghai (the region picker is a searchable 省 → 市 → 区 tree) and
        # save the view.
        page.click("div.ts-wrapper:has(#f-region-ts-control)")
        page.wait_for_selector("#f-region-ts-dropdown [data-value='31']")
        page.click("#f-region-ts-dropdown [data-value='31']")
        page.wait_for_function("() => location.search.includes('region=31')")
        page.wait_for_function(
            "() => document.querySelector('[data-testid=total]').innerText.includes('30')")
        page.reload()
        page.click("[data-testid=views-menu]")
        page.fill("#view-name", "上海")
        page.click(f"text={WORDS[language]['save']}")
        page.wait_for_load_state("load")
        assert "view=" in page.url and "region=31" in page.url
        page.goto(f"{live_server.url}/customers/")
        page.click("[data-testid=views-menu]")
        page.click("[data-testid=saved-view] >> text=上海")
        page.wait_for_load_state("load")
        assert "region=31" in page.url and "sort=-name" in page.url
        assert header == page.locator("[data-testid=results] thead").inner_text()
        # Bulk: tick one, then "all 30 matching" (more than a page), tag them.
        page.locator("[data-bulk-row]").first.check()
        page.click("[data-testid=bulk-all]")
        page.select_option("[data-testid=bulk-action]", "tag_add")
        page.fill("[data-testid=bulk-tag]", "上海客户")
        page.click("[data-testid=bulk-apply]")
        page.wait_for_load_state("load")
        work_drain(["customers.bulk"])
        page.wait_for_function(
            "() => !document.querySelector('[data-testid=bulk-status] progress')")
        assert CustomerTag.objects.filter(tag__name="上海客户").count() == 30
        assert not errors, errors
    finally:
        context.close()


@pytest.mark.parametrize("username", ["sales", "manager"])
def test_home_page_for_sales_and_manager(browser, live_server, personas, username):
    customers = _shop(personas, 3)
    services.interaction_log(actor=personas.sales, customer=customers[0], kind="call",
                             summary="回访", follow_up_on=timezone.localdate())
    context, page, errors = _page(browser, live_server, username)
    try:
        page.goto(live_server.url + "/")
        tiles = page.locator("[data-testid=home-tiles]").inner_text()
        assert "3" in tiles
        if username == "sales":
            assert "Kunde 00" in page.locator("[data-testid=home-follow-ups]").inner_text()
        else:
            assert not page.locator("[data-testid=home-follow-ups]").count()
        page.locator("[data-tile='customers.customers'] a").click()
        page.wait_for_load_state("load")
        assert page.url.endswith("/customers/")
        assert not errors, errors
    finally:
        context.close()


def test_edit_a_phone_on_the_360_page(browser, live_server, personas):
    c = make_customer(personas.admin, full_name="张伟", phones=["13800138000"])
    phone = Identity.objects.get(customer=c)
    context, page, errors = _page(browser, live_server, "manager", "zh-hans")
    try:
        page.goto(f"{live_server.url}/customers/{c.pk}/")
        assert page.locator("[data-testid=call-link]").get_attribute("href") == \
            "tel:+8613800138000"
        page.click(f"[data-testid=contact-edit-{phone.pk}]")
        page.fill(f"[data-testid=contact-value-{phone.pk}]", "139 0000 2222")
        page.click(f"[data-testid=contact-save-{phone.pk}]")
        page.wait_for_function(
            "() => document.querySelector('[data-testid=contacts]').innerText.includes('2222')")
        assert page.locator("[data-testid=toast]").first.inner_text().strip() == "已保存联系方式。"
        phone.refresh_from_db()
        assert phone.value == "+8613900002222"
        assert not errors, errors
    finally:
        context.close()


def _main_pages(page, base_url, customer_id):
    links = page.eval_on_selector_all("[data-testid=nav] a", "els => els.map(e => e.href)")
    paths = [link.removeprefix(base_url) for link in links
             if link.startswith(base_url) and "/admin/" not in link and "/api/" not in link]
    return [*paths, f"/customers/{customer_id}/", "/customers/new/", "/accounts/security/",
            "/search/?q=Kunde"]


def test_every_main_page_fits_a_phone(browser, live_server, personas):
    c = _shop(personas, 5)[0]
    context, page, errors = _page(browser, live_server, "admin", "zh-hans", 390, 844)
    try:
        paths = _main_pages(page, live_server.url, c.pk)
        assert len(paths) >= 10, paths
        wide = {}
        for path in paths:
            page.goto(live_server.url + path)
            page.wait_for_load_state("load")
            width = page.evaluate("() => document.documentElement.scrollWidth")
            if width > 391:
                wide[path] = width
        assert not wide, wide
        assert not errors, errors
    finally:
        context.close()


def test_main_pages_have_no_serious_accessibility_violations(browser, live_server, personas):
    c = _shop(personas, 5)[0]
    context, page, errors = _page(browser, live_server, "admin")
    source = AXE.read_text()
    summary = ("v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' ' + "
               "n.html + ' ' + n.failureSummary).join(' | ')")
    try:
        paths = _main_pages(page, live_server.url, c.pk)
        found = {}
        for path in paths:
            page.goto(live_server.url + path)
            page.wait_for_load_state("load")
            page.evaluate(source)  # through the DevTools protocol: not an inline script
            result = page.evaluate(
                "async () => (await axe.run(document, {resultTypes: ['violations']}))"
                ".violations.filter(v => v.impact === 'serious' || v.impact === 'critical')"
                f".map({summary})")
            if result:
                found[path] = result
        assert not found, found
        assert not errors, errors
    finally:
        context.close()
