"""Done means, in real Chromium: a customer submits the web form → an agent sees it in
their queue with an SLA timer → replies with a macro → solves it → the customer's low
CSAT score reopens it. And the help centre's bot answers from the knowledge base."""

from __future__ import annotations

import pytest

from guanxi.servicedesk import kb, macros
from guanxi.servicedesk.models import Invitation, Ticket
from guanxi.testing import browser_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_web_form_to_macro_reply_to_low_score_reopening(browser, live_server, personas,
                                                       desk, settings):
    settings.GUANXI_PUBLIC_URL = live_server.url
    macros.macro_save(actor=personas.manager, name="Shipped",
                        body="{{ customer.name }}, ticket {{ ticket.id }}: it ships today.",
                        set_status="solved")
    kb.article_save(actor=personas.manager, title="When will my order ship",
                    body="Orders paid before 16:00 ship the same day.", language="en",
                    questions=["When do you ship"], publish=True)
    errors: list[str] = []
    customer = browser.new_context(locale="en-US").new_page()
    customer.set_default_timeout(20000)
    customer.on("pageerror", lambda e: errors.append(str(e)))
    customer.goto(f"{live_server.url}/help/new")
    customer.fill("[data-testid=form-name]", "Lena Müller")
    customer.fill("[data-testid=form-email]", "lena@example.de")
    customer.fill("[data-testid=form-subject]", "When do you ship my order")
    customer.wait_for_selector("[data-testid=form-suggestions]")  # htmx: suggested articles
    assert "When will my order ship" in customer.inner_text("[data-testid=form-suggestions]")
    customer.fill("[data-testid=form-body]", "I ordered tea three days ago.")
    customer.check("[data-testid=form-surveys]")
    customer.click("[data-testid=form-send]")
    customer.wait_for_selector("[data-testid=portal-new]")
    portal = customer.url
    ticket = Ticket.objects.get()

    agent = browser.new_context(locale="en-US").new_page()
    agent.set_default_timeout(20000)
    agent.on("pageerror", lambda e: errors.append(str(e)))
    browser_sign_in(agent, live_server.url, ticket.assignee.username, "en")
    agent.goto(f"{live_server.url}/desk/?view=mine")
    row = agent.locator("[data-testid=ticket-row]", has_text="When do you ship my order")
    assert "First response" in row.locator("[data-testid=sla-timer]").first.inner_text()
    row.locator("a", has_text="When do you ship my order").click()
    agent.wait_for_selector("[data-testid=thread]")
    agent.select_option("[data-testid=macro-select]", label="Shipped")
    agent.click("[data-testid=macro-use]")
    agent.wait_for_selector("[data-testid=reply-body]")
    assert agent.input_value("[data-testid=reply-body]") == \
        f"Lena Müller, ticket {ticket.pk}: it ships today."
    assert agent.input_value("[data-testid=reply-status]") == "solved"
    agent.click("[data-testid=reply-send]")
    agent.wait_for_selector("[data-testid=message-reply]")
    assert "Solved" in agent.inner_text("[data-testid=ticket-status]")

    customer.goto(portal)
    assert "it ships today" in customer.inner_text("[data-testid=portal-thread]")
    customer.click("[data-testid=portal-rate]")
    customer.click("[data-testid=score-1]")
    customer.fill("[data-testid=survey-comment]", "Too slow")
    customer.click("[data-testid=survey-send]")
    customer.wait_for_selector("[data-testid=survey-thanks]")
    assert Invitation.objects.get().score == 1

    agent.reload()
    assert "Open" in agent.inner_text("[data-testid=ticket-status]")
    # the system note is in the business's language (the send policy's: Chinese here);
    # what went to the customer is in hers
    assert "客户给服务打了 1 分" in agent.inner_text("[data-testid=thread]")
    customer.goto(portal)
    assert "Your request" in customer.inner_text("[data-testid=portal-thread]")

    customer.goto(f"{live_server.url}/help/?language=en")
    customer.fill("[data-testid=bot-question]", "When do you ship")
    customer.press("[data-testid=bot-question]", "Enter")
    customer.wait_for_selector("#bot-log .bg-azure-lt")
    assert "same day" in customer.inner_text("#bot-log")
    assert not errors, errors
