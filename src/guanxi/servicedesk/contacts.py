"""Who wrote in: a channel's contact (name, email, phone, WeChat OpenID), matched to a
customer by identity or made a new customer tagged as a new contact; and the business's
working language, which what Guanxi writes for staff is in."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import override

from guanxi.core.errors import FieldError, InvalidInput
from guanxi.customers.models import Customer, Identity, IdentityKind, Source
from guanxi.customers.services import (
    NewCustomer,
    customer_create_automatic,
    normalize_identity,
)
from guanxi.customers.services.identities import IdentityInput
from guanxi.servicedesk.models import Channel


def business_language() -> str:
    """The language the business works in (engagement's send policy): what Guanxi writes
    for staff (system notes, alerts, the new-contact tag) is in it."""
    from guanxi.engagement.policy import policy

    return policy().default_language or "zh-hans"


def new_contact_tag() -> str:
    """The tag on customers the desk created from an unknown sender."""
    with override(business_language()):
        return _("new contact (service desk)")

SOURCES: dict[str, str] = {
    Channel.EMAIL: Source.OTHER, Channel.WEB: Source.WEB, Channel.PORTAL: Source.WEB,
    Channel.API: Source.API, Channel.WECHAT: Source.WECHAT, Channel.PHONE: Source.PHONE,
    Channel.BOT: Source.WEB, Channel.AGENT: Source.OTHER}


@dataclass(frozen=True)
class Contact:
    """Who wrote in, as the channel knows them."""

    name: str = ""
    email: str = ""
    phone: str = ""
    wechat_openid: str = ""
    language: str = ""  # the language they wrote in (a new customer's preferred one)


# --- who the customer is ----------------------------------------------------------------

def _keys(contact: Contact) -> tuple[list[tuple[str, str]], list[FieldError]]:
    keys, errors = [], []
    for kind, value, field in ((IdentityKind.EMAIL, contact.email, "email"),
                               (IdentityKind.PHONE, contact.phone, "phone"),
                               (IdentityKind.WECHAT_OPENID, contact.wechat_openid, "wechat")):
        if value and value.strip():
            try:
                keys.append((str(kind), normalize_identity(kind, value, field_name=field)))
            except InvalidInput as exc:
                errors += exc.errors
    return keys, errors


def customer_for_contact(contact: Contact, channel: str) -> tuple[Customer, bool]:
    """The customer with one of the contact's identities (email, phone, WeChat OpenID, in
    that order), or a new customer tagged as a new contact. Returns (customer, created)."""
    keys, errors = _keys(contact)
    if errors:
        raise InvalidInput(errors)
    if not keys:
        raise InvalidInput.single("email", _("Give an email address, a phone number or a "
                                             "WeChat id"))
    for kind, value in keys:
        found = (Identity.objects.filter(kind=kind, value=value, customer__erased_at=None)
                 .values_list("customer_id", flat=True).first())
        if found:
            return Customer.objects.get(pk=found), False
    name = contact.name.strip()[:100] or next(v for k, v in keys).split("@")[0][:100]
    emails = [v for k, v in keys if k == IdentityKind.EMAIL]
    phones = [v for k, v in keys if k == IdentityKind.PHONE]
    others = [IdentityInput(kind=k, value=v, system="") for k, v in keys
              if k == IdentityKind.WECHAT_OPENID]
    profile = {"preferred_language": contact.language} \
        if contact.language in ("zh-hans", "en") else {}
    new = NewCustomer(display_name=name, emails=emails, phones=phones, identities=others,
                      tags=[new_contact_tag()], profile=profile)
    return customer_create_automatic(new=new, source=SOURCES.get(channel, Source.OTHER)), True
