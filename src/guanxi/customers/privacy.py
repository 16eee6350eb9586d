"""The personal data the customers app holds about a person, registered with
core.privacy: profile, identities, addresses, consents, tags, orders, timeline events and
search terms — how each is copied out and how it is erased. Erasure keeps the customer
row (without personal data) and the order amounts, so KPIs still add up."""

from __future__ import annotations

from typing import Any

from django.db.models import F, Model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.core.jsonable import jsonable
from guanxi.core.privacy import (
    ERASED,
    Person,
    PersonalData,
    redact,
    register_personal_data,
    related_ids,
)
from guanxi.customers.models import (
    Address,
    Consent,
    Customer,
    CustomerTag,
    Event,
    FollowUp,
    Gender,
    Identity,
    Order,
    OrderLine,
    RecentView,
    SearchTerm,
)


def _rows(qs: Any, fields: list[str]) -> list[dict[str, Any]]:
    return [jsonable(row) for row in qs.values(*fields)]


def person_of(customer: Customer) -> Person:
    """The person behind a customer record, for export and erasure."""
    return Person(customer.pk, frozenset(person_values(customer)), related_ids(customer.pk))


def person_values(customer: Customer) -> set[str]:
    """Every value that identifies the customer, for finding them in free data."""
    values = {customer.family_name, customer.given_name, customer.display_name,
              customer.occupation}
    values |= {str(v) for v in (customer.attributes or {}).values() if isinstance(v, str)}
    for identity in Identity.objects.filter(customer=customer):
        values.add(identity.value)
        if identity.kind == "phone":
            values.add(identity.value.lstrip("+"))
            values.add(identity.value[-11:])  # the national number as typed in China
    for address in Address.objects.filter(customer=customer):
        values |= {address.street, address.postcode}
    for consent in Consent.objects.filter(customer=customer):
        values.add(consent.proof)
    for order in Order.objects.filter(customer=customer).exclude(external_id=""):
        values.add(order.external_id)
    # Too short to be anyone's on their own (and would match everywhere).
    return {v.strip() for v in values if v and len(v.strip()) >= 3}


PROFILE_FIELDS = ["id", "family_name", "given_name", "display_name", "gender", "birthday",
                  "lunar_birthday", "region", "occupation", "preferred_language",
                  "preferred_channel", "source", "attributes", "company__name", "owner__username",
                  "created_at", "updated_at", "erased_at"]


def _profile_erase(person: Person) -> int:
    return Customer.objects.filter(pk=person.customer_id).update(
        family_name="", given_name="", display_name=ERASED, gender=Gender.UNKNOWN,
        birthday=None, lunar_birthday=False, region="", occupation="", preferred_channel="",
        attributes={}, company=None, erased_at=timezone.now(), updated_at=timezone.now(),
        version=F("version") + 1)


def _delete(model: type[Model]) -> Any:
    def erase(person: Person) -> int:
        return int(model.objects.filter(customer_id=person.customer_id).delete()[0])  # type: ignore[attr-defined]
    return erase


def _orders_export(person: Person) -> list[dict[str, Any]]:
    orders = _rows(Order.objects.filter(customer_id=person.customer_id).order_by("placed_at"),
                   ["id", "external_id", "channel", "store", "currency", "status", "total",
                    "placed_at"])
    lines: dict[int, list[dict[str, Any]]] = {}
    for line in _rows(OrderLine.objects.filter(order__customer_id=person.customer_id),
                      ["order_id", "sku", "name", "quantity", "unit_price", "line_total"]):
        lines.setdefault(line.pop("order_id"), []).append(line)
    for order in orders:
        order["lines"] = lines.get(order["id"], [])
    return orders


def _orders_erase(person: Person) -> int:
    # The amounts stay for the KPIs; the shop's order number would lead back to the person.
    return Order.objects.filter(customer_id=person.customer_id).exclude(
        external_id="").update(external_id="")


def _events_erase(person: Person) -> int:
    """Texts cleared in one statement; data rewritten where a key its kind registered as
    personal (a ticket's subject, a survey comment, a clicked URL) has a value, or where
    it holds one of the person's values (events carry references, so that is rare)."""
    from guanxi.timeline.kinds import personal_keys

    events = Event.objects.filter(customer_id=person.customer_id)
    changed = events.update(summary="")
    for pk, kind, data in events.values_list("id", "kind", "data").iterator():
        clean = redact(data, person)
        if isinstance(clean, dict):
            clean = {k: (ERASED if k in personal_keys(kind) and v else v)
                     for k, v in clean.items()}
        if clean != data:
            Event.objects.filter(pk=pk).update(data=clean)
    return changed


def register_customers_personal_data() -> None:
    sources = [
        PersonalData(
            "customers.profile", _("Profile"), "customers",
            {"family_name": "identity", "given_name": "identity", "display_name": "identity",
             "gender": "demographic", "birthday": "demographic", "region": "demographic",
             "occupation": "demographic", "preferred_language": "preference",
             "preferred_channel": "preference", "attributes": "record",
             "company": "record"},
            [_("Customer relationship management"), _("Service")],
            lambda p: _rows(Customer.objects.filter(pk=p.customer_id), PROFILE_FIELDS),
            _profile_erase, order=90),
        PersonalData(
            "customers.identities", _("Contacts and identities"), "customers",
            {"email": "contact", "phone": "contact", "wechat_openid": "identity",
             "wechat_unionid": "identity", "external": "identity"},
            [_("Recognising the customer across channels"), _("Messages the customer agreed to")],
            lambda p: _rows(Identity.objects.filter(customer_id=p.customer_id).order_by("id"),
                            ["kind", "system", "value", "verified", "is_primary",
                             "created_at"]),
            _delete(Identity), recipients=[_("Email, SMS and WeChat providers")]),
        PersonalData(
            "customers.addresses", _("Addresses"), "customers",
            {"province": "contact", "city": "contact", "district": "contact",
             "street": "contact", "postcode": "contact"},
            [_("Delivery"), _("Service")],
            lambda p: _rows(Address.objects.filter(customer_id=p.customer_id).order_by("id"),
                            ["kind", "country", "province", "city", "district", "street",
                             "postcode", "is_primary"]),
            _delete(Address)),
        PersonalData(
            "customers.consents", _("Consents"), "customers",
            {"channel": "preference", "purpose": "preference", "granted": "preference",
             "source": "record", "notice": "record", "proof": "record"},
            [_("Proving what the customer agreed to")],
            lambda p: _rows(Consent.objects.filter(customer_id=p.customer_id).order_by("id"),
                            ["channel", "purpose", "granted", "changed_at", "source",
                             "notice", "proof", "recorded_by__username"]),
            _delete(Consent)),
        PersonalData(
            "customers.tags", _("Tags"), "customers", {"tag": "derived"},
            [_("Customer relationship management")],
            lambda p: _rows(CustomerTag.objects.filter(customer_id=p.customer_id)
                            .order_by("id"), ["tag__name", "added_at"]),
            _delete(CustomerTag)),
        PersonalData(
            "customers.follow_ups", _("Follow-ups"), "customers",
            {"due_on": "record", "note": "behaviour"},
            [_("Customer relationship management")],
            lambda p: _rows(FollowUp.objects.filter(customer_id=p.customer_id).order_by("id"),
                            ["due_on", "note", "created_at", "done_at"]),
            _delete(FollowUp)),
        PersonalData(
            "customers.recent_views", _("Staff who opened the record"), "customers",
            {"viewed_at": "record"}, [_("Staff convenience (recently viewed customers)")],
            lambda p: _rows(RecentView.objects.filter(customer_id=p.customer_id)
                            .order_by("id"), ["viewed_at"]),
            _delete(RecentView)),
        PersonalData(
            "customers.orders", _("Orders"), "customers",
            {"external_id": "transaction", "total": "transaction", "lines": "transaction"},
            [_("Sales records"), _("Analytics (amounts kept anonymously after erasure)")],
            _orders_export, _orders_erase),
        PersonalData(
            "customers.events", _("Timeline"), "customers",
            {"kind": "behaviour", "summary": "behaviour", "data": "behaviour"},
            [_("Customer history"), _("Analytics (counts kept anonymously after erasure)")],
            lambda p: _rows(Event.objects.filter(customer_id=p.customer_id)
                            .order_by("occurred_at", "id"),
                            ["kind", "occurred_at", "channel", "source", "summary", "data"]),
            _events_erase),
        PersonalData(
            "customers.search", _("Search index"), "customers", {"term": "identity"},
            [_("Finding the customer")],
            lambda p: [], _delete(SearchTerm), order=80),
    ]
    for source in sources:
        register_personal_data(source)
