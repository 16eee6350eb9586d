"""What the integrations app adds to the platform's registries (called from
IntegrationsConfig.ready()): its permission, the delivery queue, the timeline consumer
that turns events into webhook messages, the "call a webhook" automation action, the
settings link, a home card when an endpoint was switched off, and personal data."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from guanxi.core.jsonable import jsonable
from guanxi.core.privacy import Person

CONSUMER = "integrations.webhooks"


def read_events() -> int:
    from guanxi.integrations.models import WebhookEndpoint
    from guanxi.integrations.webhooks import deliveries_for_events
    from guanxi.timeline.cursors import consume, cursor_open

    if not WebhookEndpoint.objects.filter(active=True).exists():
        cursor_open(CONSUMER)
        return 0
    def handle(events: list[Any]) -> None:
        deliveries_for_events(events)

    for _batch in range(20):
        if not consume(CONSUMER, handle):
            break
    return 0


def disabled_card(actor: Any) -> dict[str, Any] | None:
    from guanxi.integrations.selectors import disabled_endpoints

    found = disabled_endpoints()
    return {"endpoints": found} if found else None


def _export(person: Person) -> list[dict[str, Any]]:
    from guanxi.integrations.models import WebhookDelivery

    rows = WebhookDelivery.objects.filter(customer_id=person.customer_id).select_related(
        "endpoint").order_by("pk")
    return [jsonable({"endpoint": d.endpoint.name, "event_type": d.event_type,
                      "status": d.status, "created_at": d.created_at}) for d in rows]


def _erase(person: Person) -> int:
    from guanxi.integrations.models import WebhookDelivery

    return int(WebhookDelivery.objects.filter(customer_id=person.customer_id).delete()[0])


def register_integrations() -> None:
    from guanxi.core.automation import ActionType, ConfigField, register_action_types
    from guanxi.core.lazy import lazy
    from guanxi.core.privacy import PersonalData, register_personal_data
    from guanxi.core.shell import HomeCard, NavEntry, register_home_card, register_settings_link
    from guanxi.core.watchdog import register_check
    from guanxi.core.work import register_handler
    from guanxi.integrations.permissions import IntegrationAction, register_integration_actions

    register_integration_actions()
    register_handler("integrations.deliver", lazy("guanxi.integrations.webhooks:deliver_work"),
                     atomic=False, lease_s=60, max_attempts=3, backoff_s=30)
    register_check(read_events, every=1.0)
    register_action_types(ActionType(
        "integrations.webhook_call", _("Call a webhook"), "integrations",
        lazy("guanxi.integrations.actions:call_webhook"), IntegrationAction.MANAGE,
        (ConfigField("endpoint", _("Endpoint"),
                     choices=lazy("guanxi.integrations.selectors:endpoint_choices")),
         ConfigField("note", _("Note sent with it"), required=False)),
        help=_("Sends a signed message with the customer's id to the endpoint, once.")))
    register_settings_link(NavEntry("webhooks", _("Webhooks"), "integrations:webhooks",
                                    IntegrationAction.MANAGE, 60, icon="webhook"))
    register_home_card(HomeCard("integrations.disabled", "integrations/_home_disabled.html",
                                disabled_card, IntegrationAction.MANAGE, order=5))
    register_personal_data(PersonalData(
        "integrations.deliveries", _("Messages sent to other systems"), "integrations",
        {"event_type": "record", "payload": "behaviour"},
        [_("Keeping other systems up to date (webhooks)")], _export, _erase,
        recipients=[_("Webhook endpoints set up by administrators")]))
