"""Consent per channel and purpose, with source and proof."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.audit.services import log_action
from guanxi.core.errors import FieldError, InvalidInput
from guanxi.core.permissions import Actor, staff
from guanxi.customers.hooks import run_consent_changed
from guanxi.customers.models import (
    Channel,
    Consent,
    ConsentPurpose,
    Customer,
)
from guanxi.customers.permissions import CustomerAction
from guanxi.customers.services.access import _check
from guanxi.customers.services.timeline import event_record


def consent_set(*, actor: Actor, customer: Customer, channel: str, purpose: str, granted: bool,
                source: str = "", proof: str = "", notice: str = "") -> Consent:
    """Record the customer's answer for one channel and purpose: how it was given
    (`source`, e.g. "web form", "reply TD"), the evidence (`proof`) and the version of the
    privacy notice it was given to (`notice`)."""
    _check(actor, CustomerAction.CONSENT_CHANGE, customer)
    return _consent_write(actor, customer, channel, purpose, granted, source, proof, notice)


def consent_set_by_customer(*, customer: Customer, channel: str, purpose: str,
                            granted: bool, source: str, proof: str = "") -> Consent:
    """The customer's own answer, given without a member of staff: an unsubscribe link,
    an SMS reply "T" or "退订". Recorded like consent_set, acting for no person."""
    return _consent_write(None, customer, channel, purpose, granted, source, proof, "")


def _consent_write(actor: Actor, customer: Customer, channel: str, purpose: str,
                   granted: bool, source: str, proof: str, notice: str) -> Consent:
    errors = []
    if channel not in Channel.values:
        errors.append(FieldError("channel", _("Unknown channel"), channel))
    if purpose not in ConsentPurpose.values:
        errors.append(FieldError("purpose", _("Unknown purpose"), purpose))
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        consent = (Consent.objects.select_for_update()
                   .filter(customer=customer, channel=channel, purpose=purpose).first())
        old = consent.granted if consent else None
        if consent is None:
            consent = Consent(customer=customer, channel=channel, purpose=purpose)
        consent.granted = granted
        consent.changed_at = timezone.now()
        consent.source = source[:60]
        consent.proof = proof
        consent.notice = notice[:60]
        consent.recorded_by = staff(actor)
        consent.save()
        event_record(customer=customer, kind="consent_changed", actor=actor,
                     data={"channel": channel, "purpose": purpose, "granted": granted,
                           "source": source, "proof": proof, "notice": notice[:60]})
        log_action(actor=actor, action="consent.set", obj=consent, customer_id=customer.pk,
                   changes={f"{channel}/{purpose}": [old, granted]},
                   extra={"source": source, "proof": proof, "notice": notice[:60]})
        if old != granted:
            run_consent_changed(customer, channel, purpose, granted)
    return consent
