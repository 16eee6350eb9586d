"""Every page an administrator can reach by following links, in real Chromium under the
Content Security Policy: not one CSP violation and no script error, in English and in
Simplified Chinese."""

from __future__ import annotations

from urllib.parse import urljoin, urlparse

import pytest

from guanxi.analytics.services import segment_save
from guanxi.customers import services as customer_services
from guanxi.dataquality.services import customers_merge
from guanxi.testing import browser_sign_in, make_customer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Links that end the session, download files or change data on GET are not followed.
SKIP = ("/accounts/logout/", ".csv", ".xlsx", "/export", "format=", "/api/v1/openapi.json",
        "/admin/logout/", "/admin/jsi18n/")
MAX_PAGES = 120

LISTEN = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def _data(personas) -> None:
    a = make_customer(personas.admin, full_name="欧阳娜娜", phones=["13900001111"],
                      emails=["nana@example.com"], tags=["VIP"], owner=personas.sales)
    make_customer(personas.admin, full_name="张伟", phones=["13800138000"])
    c = make_customer(personas.admin, full_name="李娜")
    d = make_customer(personas.admin, full_name="李 娜")
    customers_merge(actor=personas.admin, survivor=c, absorbed=d)
    customer_services.interaction_log(actor=personas.admin, customer=a, kind="call",
                                      summary="回访")
    segment_save(actor=personas.admin, name="上海客户",
                 rules={"field": "region", "operator": "equals", "value": "上海"})


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_no_page_violates_the_content_security_policy(browser, live_server, personas,
                                                       language):
    _data(personas)
    context = browser.new_context(locale="zh-CN" if language == "zh-hans" else "en-US")
    context.add_init_script(LISTEN)
    page = context.new_page()
    page.set_default_timeout(15000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"{page.url}: {m.text}")
            if m.type == "error" and "Security Policy" in m.text else None)
    page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
    violations: list[str] = []
    try:
        browser_sign_in(page, live_server.url, "admin", language)
        host = urlparse(live_server.url).netloc
        queue, seen = ["/"], set()
        while queue and len(seen) < MAX_PAGES:
            path = queue.pop(0)
            if path in seen:
                continue
            seen.add(path)
            page.goto(live_server.url + path)
            page.wait_for_load_state("load")
            page.wait_for_timeout(50)
            violations += [f"{path}: {v}" for v in page.evaluate("window.__csp || []")]
            for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
                url = urlparse(urljoin(page.url, href))
                target = url.path + (f"?{url.query}" if url.query else "")
                if (url.netloc == host and not any(s in target for s in SKIP)
                        and "page=" not in url.query and target not in seen):
                    queue.append(target)
        assert len(seen) >= 20, sorted(seen)  # the crawl really went through the app
        assert {"/customers/", "/analytics/", "/accounts/security/"} <= seen
        assert not violations, violations
        assert not errors, errors
    finally:
        context.close()
