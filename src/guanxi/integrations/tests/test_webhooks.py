import datetime as dt
import json
import time

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook
from werkzeug import Response

from guanxi.core.models import WorkItem, WorkState
from guanxi.core.work import work_drain
from guanxi.customers.services import event_record
from guanxi.integrations import webhooks
from guanxi.integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from guanxi.integrations.registrations import CONSUMER, read_events
from guanxi.integrations.services import endpoint_rotate_secret, endpoint_save
from guanxi.testing import make_customer
from guanxi.timeline.cursors import cursor_open

pytestmark = pytest.mark.django_db
Q = ["integrations.deliver"]


def due_now():
    WorkItem.objects.filter(state=WorkState.QUEUED).update(run_after=timezone.now())


@pytest.fixture
def receiver(httpserver):
    """A receiver that verifies each message and records it; `plan` lists the answers
    (a status code, or "slow" for a timeout), then 200."""
    got: list[dict] = []
    plan: list = []

    def handle(request):
        got.append({"id": request.headers["webhook-id"], "headers": dict(request.headers),
                    "body": request.get_data(as_text=True)})
        step = plan.pop(0) if plan else 200
        if step == "slow":
            time.sleep(webhooks.TIMEOUT_S + 0.5)
            return Response("late", status=200)
        return Response("ok" if step == 200 else "boom", status=step)

    httpserver.expect_request("/hook", method="POST").respond_with_handler(handle)
    return httpserver, got, plan


def make_endpoint(personas, url, kinds=("note",)):
    return endpoint_save(actor=personas.admin, name="ERP", url=url, event_kinds=list(kinds),
                         allow_private=True)


@pytest.mark.django_db(transaction=True)  # the event consumer reads what has committed
def test_events_are_sent_signed_per_standard_webhooks(personas, receiver):
    server, got, _plan = receiver
    cursor_open(CONSUMER)
    endpoint = make_endpoint(personas, server.url_for("/hook"))
    customer = make_customer(personas.manager)
    event_record(customer=customer, kind="note", summary="hello")
    read_events()
    assert work_drain(Q) == 1
    assert len(got) == 1
    payload = Webhook(endpoint.secret).verify(got[0]["body"], got[0]["headers"])
    assert payload["type"] == "event.note" and payload["data"]["customer_id"] == customer.pk
    assert WebhookDelivery.objects.get().status == DeliveryStatus.DELIVERED


@pytest.mark.django_db(transaction=True)  # the event consumer reads what has committed
def test_a_failing_endpoint_gets_each_message_once_when_it_recovers(personas, receiver,
                                                                     monkeypatch):
    monkeypatch.setattr(webhooks, "TIMEOUT_S", 1.0)
    from django.conf import settings
    monkeypatch.setattr(settings, "GUANXI_WEBHOOK_TIMEOUT_S", 1.0)
    server, got, plan = receiver
    plan.extend([500, "slow", 503, 500])
    cursor_open(CONSUMER)
    make_endpoint(personas, server.url_for("/hook"))
    customer = make_customer(personas.manager)
    event_record(customer=customer, kind="note", summary="hello")
    read_events()
    delivery = WebhookDelivery.objects.get()
    waits = []
    for _attempt in range(6):
        before = timezone.now()
        work_drain(Q)
        delivery.refresh_from_db()
        if delivery.status == DeliveryStatus.DELIVERED:
            break
        waits.append(round((delivery.next_attempt_at - before).total_seconds()))
        due_now()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 5
    # on the documented schedule: 5 s, 5 min, 30 min, 2 h after each failure
    assert [abs(w - s) <= 2 for w, s in zip(waits, webhooks.RETRY_SCHEDULE, strict=False)] \
        == [True] * 4
    ok = [g for g, code in zip(got, [500, "slow", 503, 500, 200], strict=False) if code == 200]
    assert len(ok) == 1 and len({g["id"] for g in got}) == 1
    due_now()
    assert work_drain(Q) == 0 and len(got) == 5  # nothing more once delivered


def test_private_addresses_are_refused_unless_an_admin_allows_them(personas):
    from guanxi.core.errors import InvalidInput
    for url in ("http://127.0.0.1:9/x", "http://10.1.2.3/x", "http://169.254.169.254/latest",
                "http://[::1]/x", "file:///etc/passwd"):
        with pytest.raises(InvalidInput):
            endpoint_save(actor=personas.manager, name="bad", url=url, event_kinds=["note"])
    with pytest.raises(InvalidInput) as caught:  # only an administrator may allow it
        endpoint_save(actor=personas.manager, name="lan", url="http://10.1.2.3/x",
                      event_kinds=["note"], allow_private=True)
    assert "allow_private" in {e.field for e in caught.value.errors}
    assert endpoint_save(actor=personas.admin, name="lan", url="http://10.1.2.3/x",
                         event_kinds=["note"], allow_private=True).allow_private


def test_a_host_that_turned_private_is_not_called(personas, monkeypatch):
    endpoint = WebhookEndpoint.objects.create(name="x", url="http://example.invalid/h",
                                              secret=webhooks.new_secret(),
                                              event_kinds=["note"])
    monkeypatch.setattr(webhooks.socket, "getaddrinfo",
                        lambda *a, **k: [(2, 1, 6, "", ("127.0.0.1", 80))])
    customer = make_customer(personas.manager)
    webhooks.delivery_create(endpoint, message_id="m1", event_type="t", payload={},
                             customer_id=customer.pk)
    work_drain(Q)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.RETRYING and "refused" in delivery.last_error


def test_rotation_signs_with_both_secrets_during_the_overlap(personas):
    endpoint = WebhookEndpoint.objects.create(name="x", url="https://example.com/h",
                                              secret=webhooks.new_secret())
    old = endpoint.secret
    new = endpoint_rotate_secret(actor=personas.manager, endpoint=endpoint)
    now = timezone.now()
    body = json.dumps({"a": 1})
    headers = webhooks.signed_headers(endpoint, "msg_1", body, now)
    assert Webhook(old).verify(body, headers) == {"a": 1}
    assert Webhook(new).verify(body, headers) == {"a": 1}
    later = now + dt.timedelta(hours=25)
    assert webhooks.signing_secrets(endpoint, later) == [new]


def test_an_endpoint_failing_for_days_is_switched_off_with_a_notice(personas, client):
    endpoint = WebhookEndpoint.objects.create(
        name="down", url="http://127.0.0.1:9/h", secret=webhooks.new_secret(),
        allow_private=True, failing_since=timezone.now() - dt.timedelta(days=6))
    customer = make_customer(personas.manager)
    webhooks.delivery_create(endpoint, message_id="m2", event_type="t", payload={},
                             customer_id=customer.pk)
    work_drain(Q)
    endpoint.refresh_from_db()
    assert not endpoint.active and endpoint.disabled_reason
    client.force_login(personas.admin)
    assert b"home-webhooks-disabled" in client.get("/").content


def test_the_automation_action_sends_once_per_key(personas, receiver):
    server, got, _plan = receiver
    endpoint = make_endpoint(personas, server.url_for("/hook"), kinds=())
    from guanxi.integrations.actions import call_webhook
    customer = make_customer(personas.manager)
    for _ in range(2):
        call_webhook(customer_id=customer.pk, config={"endpoint": str(endpoint.pk)},
                     key="7:1:s1:1")
    work_drain(Q)
    assert len(got) == 1 and WebhookDelivery.objects.count() == 1
