"""The "send a message" step of an automation: one message per step key, sent under the
send policy, even when the step runs again."""

from __future__ import annotations

import pytest

from guanxi.automation.services import automation_publish, automation_save
from guanxi.automation.triggers import CONSUMER, read_events
from guanxi.core.work import work_drain
from guanxi.customers.services import consent_set, event_record
from guanxi.engagement.actions import send_message
from guanxi.engagement.models import Message, MessageStatus
from guanxi.engagement.services import TextInput, template_save
from guanxi.testing import make_customer
from guanxi.timeline.cursors import cursor_open

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)  # the event consumer reads what has committed
def test_an_automation_step_sends_the_template_once(personas, log_channels):
    m = personas.manager
    cursor_open(CONSUMER)
    template = template_save(actor=m, name="感谢", channel="sms", purpose="service", texts=[
        TextInput("zh-hans", "{{ customer.salutation }}，感谢您的订单")])
    automation = automation_save(
        actor=m, name="下单感谢", trigger="timeline.event",
        trigger_config={"kind": "custom.purchase"},
        steps=[{"id": "s1", "type": "action", "action": "engagement.send_message",
                "config": {"template": str(template.pk)}}])
    automation_publish(actor=m, automation=automation)
    customer = make_customer(m, full_name="张伟", family_name="张", given_name="伟",
                             gender="male", phones=["13900139000"])
    consent_set(actor=m, customer=customer, channel="sms", purpose="service", granted=True,
                source="test")
    event_record(customer=customer, kind="custom.purchase", data={"amount": 88})
    read_events()
    work_drain()
    [message] = Message.objects.filter(customer=customer)
    assert message.status == MessageStatus.SENT
    assert message.origin == "automation" and message.variant == "s1"
    assert message.body == "张先生，感谢您的订单"  # a service SMS: no 退订 line
    # the same step key again (a retried step) adds nothing
    again = send_message(customer_id=customer.pk, config={"template": str(template.pk)},
                         key=message.key.removeprefix("auto:").rsplit(":", 1)[0])
    assert again["message"] == message.pk
    assert Message.objects.filter(customer=customer).count() == 1
