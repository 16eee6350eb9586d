"""Email through a real SMTP server (aiosmtpd), opens, clicks and unsubscribing, and a
message sent by staff from the 360 page."""

from __future__ import annotations

import itertools

import pytest
from django.core import signing
from django.urls import reverse

from guanxi.core.work import work_drain
from guanxi.customers.models import Consent, Event
from guanxi.customers.services import consent_set
from guanxi.engagement.models import Message, MessageStatus, Suppression
from guanxi.engagement.outbox import Draft, queue_message
from guanxi.engagement.services import TextInput, message_send, template_save
from guanxi.engagement.tracking import click_url
from guanxi.testing import make_customer

pytestmark = pytest.mark.django_db
_N = itertools.count(1)


def _customer(actor, address=""):
    n = next(_N)
    customer = make_customer(actor, full_name="王芳", family_name="王", given_name="芳",
                             gender="female", emails=[address or f"w{n}@example.com"])
    consent_set(actor=actor, customer=customer, channel="email", purpose="marketing",
                granted=True, source="test")
    return customer


def test_an_email_goes_through_smtp_with_its_key_and_unsubscribe_headers(personas, smtp,
                                                                          client):
    m = personas.manager
    customer = _customer(m)
    template = template_save(actor=m, name="中秋", channel="email", purpose="marketing", texts=[
        TextInput("zh-hans", "", "中秋快乐，{{ customer.salutation }}",
                  "<style>.x{color:#c00}</style><p class='x'>{{ customer.salutation }}，"
                  "中秋快乐！</p><a href='https://shop.example/moon?a=1&b=2'>月饼</a>"
                  "<a href='{{ unsubscribe_url }}'>退订</a>")])
    message = queue_message(Draft(key="moon:1", customer_id=customer.pk, channel="email",
                                  purpose="marketing", origin="campaign",
                                  template_id=template.pk))
    work_drain()
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    [got] = smtp.messages
    assert got["Subject"] == "中秋快乐，王女士"
    assert got["Message-ID"] == "<moon.1@longjing.example>"
    assert got["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "龙井茶庄" in str(got["From"])
    html = got.get_body(("html",)).get_content()
    text = got.get_body(("plain",)).get_content()
    assert "color: #c00" in html or "color:#c00" in html  # inlined
    assert "王女士，中秋快乐！" in text and "月饼" in text   # a text part from the HTML
    assert "shop.example/moon" not in html                  # links go through /m/c/
    assert "/m/o/" in html                                  # the open pixel
    # the tracked link redirects to the shop and records the click once
    link = html.split('href="')[1].split('"')[0].replace("&amp;", "&")
    path = link.replace("http://127.0.0.1:8000", "")
    Message.objects.filter(pk=message.pk).update(
        sent_at=message.sent_at - __import__("datetime").timedelta(minutes=5))
    response = client.get(path, HTTP_USER_AGENT="Mozilla/5.0 (iPhone)")
    assert response.status_code == 302
    assert response["Location"] == "https://shop.example/moon?a=1&b=2"
    client.get(path, HTTP_USER_AGENT="Mozilla/5.0 (iPhone)")
    message.refresh_from_db()
    assert message.clicked_at and message.opened_at
    assert Event.objects.filter(customer=customer, kind="message_clicked").count() == 2
    # a link scanner's visit is not counted
    Message.objects.filter(pk=message.pk).update(clicked_at=None)
    client.get(path, HTTP_USER_AGENT="Mozilla/5.0 Barracuda link protection")
    message.refresh_from_db()
    assert message.clicked_at is None
    # one-click unsubscribe (RFC 8058): POST without a session or CSRF token
    unsubscribe = str(got["List-Unsubscribe"]).strip().strip("<>").replace(
        "http://127.0.0.1:8000", "")
    assert unsubscribe.startswith("/m/u/"), repr(got["List-Unsubscribe"])
    response = client.post(unsubscribe, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert Consent.objects.get(customer=customer, channel="email",
                               purpose="marketing").granted is False
    assert Suppression.objects.filter(address=message.address, reason="unsubscribed").exists()


def test_a_click_link_cannot_be_made_to_point_elsewhere(personas, client):
    customer = make_customer(personas.manager, full_name="某人")
    message = Message.objects.create(key="k", customer=customer, channel="email",
                                     purpose="marketing", origin="staff")
    good = click_url(message, "https://shop.example/").split("/m/c/")[1]
    forged = signing.dumps({"m": message.pk, "u": "https://evil.example/"}, salt="other")
    assert client.get(f"/m/c/{forged}").status_code == 404
    assert client.get(f"/m/c/{good[:-2]}xx").status_code == 404
    assert client.get(f"/m/c/{good}", HTTP_USER_AGENT="Mozilla/5.0")["Location"] == \
        "https://shop.example/"


def test_a_hard_bounce_fails_the_message_and_suppresses_the_address(personas, smtp):
    m = personas.manager
    customer = _customer(m, address="bounce@example.com")
    message = queue_message(Draft(key="b", customer_id=customer.pk, channel="email",
                                  purpose="marketing", origin="staff", subject="hi",
                                  body="hello"))
    work_drain()
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert Suppression.objects.filter(address="bounce@example.com", reason="invalid").exists()


def test_staff_send_from_the_360_page_sales_only_to_their_own(personas, smtp, client):
    own = _customer(personas.sales)
    other = _customer(personas.manager)
    client.force_login(personas.sales)
    url = reverse("engagement:send", args=[own.pk])
    response = client.post(url, {"channel": "email", "purpose": "service", "subject": "回访",
                                 "body": "{{ customer.salutation }}，感谢您的购买"},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b'data-testid="message-queued"' in response.content
    assert client.post(reverse("engagement:send", args=[other.pk]),
                       {"channel": "email", "purpose": "service", "body": "x",
                        "subject": "x"}).status_code == 404
    bad = client.post(url, {"channel": "email", "purpose": "service", "subject": "",
                            "body": "{% for x in y %}{% endfor %}"})
    assert bad.status_code == 422
    assert b"subject" in bad.content and b"body" in bad.content
    # no consent for service emails: recorded as not sent, with the reason on the 360 page
    work_drain()
    message = Message.objects.get(customer=own, origin="staff")
    assert (message.status, message.reason) == (MessageStatus.NOT_SENT, "no_consent")
    page = client.get(reverse("customers:detail", args=[own.pk]))
    assert "No consent for this channel and purpose" in page.content.decode()


def test_roles_without_the_right_cannot_send(personas):
    from django.core.exceptions import PermissionDenied

    customer = make_customer(personas.manager, full_name="某人")
    with pytest.raises(PermissionDenied):
        message_send(actor=personas.analyst, customer=customer, channel="email",
                     purpose="service", subject="x", body="y")
