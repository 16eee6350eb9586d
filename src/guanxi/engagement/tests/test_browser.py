"""Done means, in real Chromium: build a campaign for a segment with two variants and a
holdout, send it (through a real SMTP server standing in for the provider), and see the
report with the opens and clicks the recipients made."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from guanxi.analytics.services import segment_save
from guanxi.core.work import work_drain
from guanxi.customers.services import consent_set
from guanxi.engagement.models import Campaign, CampaignRecipient, Message
from guanxi.engagement.services import TextInput, template_save
from guanxi.testing import browser_sign_in, make_customer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_build_a_campaign_send_it_and_see_opens_and_clicks(browser, live_server, personas,
                                                          smtp, settings):
    settings.GUANXI_PUBLIC_URL = live_server.url
    m = personas.manager
    for i in range(24):
        c = make_customer(m, full_name=f"杭州客户{i}", region="浙江省杭州市",
                          emails=[f"hz{i}@example.com"])
        consent_set(actor=m, customer=c, channel="email", purpose="marketing", granted=True,
                    source="web form")
    segment_save(actor=m, name="杭州客户", rules={"field": "region", "operator": "contains",
                                                "value": "杭州"})
    page_link = f"{live_server.url}/healthz"
    for name, subject in (("Spring tea A", "New spring tea"), ("Spring tea B", "Your tea")):
        template_save(actor=m, name=name, channel="email", purpose="marketing", texts=[
            TextInput("zh-hans", "", subject,
                      f"<p>{{{{ customer.salutation }}}}，新茶到了</p>"
                      f"<a href='{page_link}'>看看</a>")])
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.set_default_timeout(20000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    browser_sign_in(page, live_server.url, "marketing", "en")

    page.goto(f"{live_server.url}/messages/campaigns/")
    page.click("[data-testid=campaign-new]")
    page.fill("[data-testid=campaign-name]", "Spring tea")
    page.select_option("[data-testid=campaign-segment]", label="杭州客户")
    page.select_option("[data-testid=variant-template-0]", label="Spring tea A (Email)")
    page.fill("[data-testid=variant-share-0]", "50")
    page.select_option("[data-testid=variant-template-1]", label="Spring tea B (Email)")
    page.fill("[data-testid=variant-share-1]", "50")
    page.fill("[data-testid=campaign-holdout]", "25")
    page.click("[data-testid=campaign-save]")
    page.wait_for_selector("[data-testid=audience-count]")
    assert page.inner_text("[data-testid=audience-count]").strip() == "24"
    page.click("[data-testid=campaign-launch]")
    page.wait_for_selector("[data-testid=campaign-progress]")
    work_drain()  # what the worker does: freeze the audience, send each message

    campaign = Campaign.objects.get(name="Spring tea")
    held = CampaignRecipient.objects.filter(campaign=campaign, variant="holdout").count()
    assert held and len(smtp.messages) == 24 - held
    # time passes; some recipients open, some click (in a browser, like a person)
    Message.objects.filter(origin_id=campaign.pk).update(
        sent_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10))
    # (a phone's mail app; headless Chrome's own user agent counts as a link scanner)
    reader = browser.new_context(locale="zh-CN", user_agent=(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148"))
    person = reader.new_page()
    opened = {"A": 0, "B": 0}
    clicked = {"A": 0, "B": 0}
    for mail in smtp.messages:
        html = mail.get_body(("html",)).get_content()
        key = mail["Message-ID"].strip("<>").split("@")[0].replace(".", ":")
        variant = Message.objects.get(key=key).variant
        pixel = re.search(r'src="([^"]+/m/o/[^"]+)"', html).group(1)
        link = re.search(r'href="([^"]+/m/c/[^"]+)"', html).group(1).replace("&amp;", "&")
        person.goto(pixel)
        opened[variant] += 1
        if variant == "B" or clicked["A"] == 0:
            person.goto(link)
            assert person.url == page_link
            clicked[variant] += 1
    reader.close()
    page.reload()
    page.wait_for_selector("[data-testid=campaign-report]")
    for code in ("A", "B"):
        assert page.inner_text(f"[data-testid=opened-{code}]").strip() == str(opened[code])
        assert page.inner_text(f"[data-testid=clicked-{code}]").strip() == str(clicked[code])
    assert page.locator("[data-testid=report-holdout]").count() == 1
    page.wait_for_selector("[data-chart=chart-report][data-ready='1']")
    assert not errors, errors
    context.close()
