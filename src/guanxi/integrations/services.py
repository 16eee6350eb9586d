"""Writes of the integrations app, checked and audited: webhook endpoints (create, change,
rotate the secret, delete), replaying a delivery, inbound sources."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.audit.services import log_action
from guanxi.core.errors import FieldError, InvalidInput
from guanxi.core.models import WorkItem
from guanxi.core.permissions import Actor, Role, effective_role, require, staff
from guanxi.integrations import webhooks
from guanxi.integrations.models import InboundSource, WebhookDelivery, WebhookEndpoint
from guanxi.integrations.permissions import IntegrationAction
from guanxi.timeline.kinds import get_kind, is_custom

ROTATION_OVERLAP = dt.timedelta(hours=24)


def _endpoint_errors(actor: Actor, name: str, url: str, event_kinds: Sequence[str],
                     allow_private: bool, endpoint: WebhookEndpoint | None) -> list[FieldError]:
    errors: list[FieldError] = []
    if not name.strip() or len(name) > 100:
        errors.append(FieldError("name", _("Give a name of at most 100 characters"), name))
    elif WebhookEndpoint.objects.filter(name=name.strip()).exclude(
            pk=endpoint.pk if endpoint else 0).exists():
        errors.append(FieldError("name", _("Another endpoint has this name"), name))
    if len(url) > 500:
        errors.append(FieldError("url", _("At most 500 characters"), url[:50]))
    if allow_private and effective_role(actor) != Role.ADMIN:
        errors.append(FieldError("allow_private", _("Only an administrator can allow a "
                                                    "private network address")))
    try:
        webhooks.check_url(url, allow_private=allow_private)
    except webhooks.UnsafeAddress as exc:
        errors.append(FieldError("url", str(exc), url))
    for i, kind in enumerate(event_kinds):
        if kind != "*" and get_kind(kind) is None and not is_custom(kind):
            errors.append(FieldError(f"event_kinds.{i}", _("Unknown event kind"), kind))
    return errors


def endpoint_save(*, actor: Actor, endpoint: WebhookEndpoint | None = None, name: str,
                  url: str, event_kinds: Sequence[str] = (), active: bool = True,
                  allow_private: bool = False) -> WebhookEndpoint:
    require(actor, IntegrationAction.MANAGE)
    kinds = list(dict.fromkeys(k.strip() for k in event_kinds if k.strip()))
    if endpoint is not None and endpoint.allow_private and allow_private:
        # keeping an administrator's earlier decision needs no administrator
        errors = _endpoint_errors(actor, name, url, kinds, False, endpoint)
        errors = [e for e in errors if e.field != "url"]
        try:
            webhooks.check_url(url, allow_private=True)
        except webhooks.UnsafeAddress as exc:
            errors.append(FieldError("url", str(exc), url))
    else:
        errors = _endpoint_errors(actor, name, url, kinds, allow_private, endpoint)
    if errors:
        raise InvalidInput(errors)
    values = {"name": name.strip(), "url": url, "event_kinds": kinds, "active": active,
              "allow_private": allow_private}
    with transaction.atomic():
        if endpoint is None:
            endpoint = WebhookEndpoint.objects.create(secret=webhooks.new_secret(),
                                                      created_by=staff(actor), **values)
            log_action(actor=actor, action="webhook.create", obj=endpoint,
                       extra={"url": url, "events": kinds})
        else:
            before = {k: getattr(endpoint, k) for k in values}
            for k, v in values.items():
                setattr(endpoint, k, v)
            if active:
                endpoint.disabled_reason = ""
                endpoint.failing_since = None
            endpoint.save()
            log_action(actor=actor, action="webhook.update", obj=endpoint,
                       changes={k: [before[k], values[k]] for k in values
                                if before[k] != values[k]})
    return endpoint


def endpoint_rotate_secret(*, actor: Actor, endpoint: WebhookEndpoint) -> str:
    """A new secret; the old one keeps signing (beside the new) for ROTATION_OVERLAP, so
    the receiver can switch without losing a message. Returns the new secret."""
    require(actor, IntegrationAction.MANAGE)
    with transaction.atomic():
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_until = timezone.now() + ROTATION_OVERLAP
        endpoint.secret = webhooks.new_secret()
        endpoint.save(update_fields=["secret", "previous_secret", "previous_until"])
        log_action(actor=actor, action="webhook.rotate", obj=endpoint)
    return endpoint.secret


def endpoint_delete(*, actor: Actor, endpoint: WebhookEndpoint) -> None:
    require(actor, IntegrationAction.MANAGE)
    with transaction.atomic():
        log_action(actor=actor, action="webhook.delete", obj=endpoint,
                   extra={"name": endpoint.name})
        endpoint.delete()


def delivery_replay(*, actor: Actor, delivery: WebhookDelivery) -> WorkItem:
    require(actor, IntegrationAction.MANAGE)
    with transaction.atomic():
        item = webhooks.replay(delivery)
        log_action(actor=actor, action="webhook.replay", obj=delivery)
    return item


def source_save(*, actor: Actor, slug: str, name: str, kind: str, secret: str,
                acts_as: Any, source: InboundSource | None = None) -> InboundSource:
    """An inbound source (a shop): its address /hooks/<slug>, its format, the secret it
    signs with, and the staff account its orders are recorded as."""
    require(actor, IntegrationAction.MANAGE)
    errors: list[FieldError] = []
    if kind not in InboundSource.Kind.values:
        errors.append(FieldError("kind", _("Choose one of: %(choices)s")
                                 % {"choices": ", ".join(InboundSource.Kind.values)}, kind))
    if len(secret) < 16:
        errors.append(FieldError("secret", _("At least 16 characters")))
    if not slug or InboundSource.objects.filter(slug=slug).exclude(
            pk=source.pk if source else 0).exists():
        errors.append(FieldError("slug", _("Give an address name no other source uses"),
                                 slug))
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        if source is None:
            source = InboundSource.objects.create(slug=slug, name=name, kind=kind,
                                                  secret=secret, acts_as=acts_as)
        else:
            source.slug, source.name, source.kind, source.secret = slug, name, kind, secret
            source.acts_as = acts_as
            source.save()
        log_action(actor=actor, action="inbound.save", obj=source, extra={"kind": kind})
    return source
