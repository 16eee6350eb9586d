"""Merging duplicates and undoing the merge."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from guanxi.audit.models import AuditEntry
from guanxi.core.errors import Conflict
from guanxi.customers import services as cs
from guanxi.customers.models import (
    Consent,
    Customer,
    CustomerTag,
    Event,
    Identity,
    Order,
    SearchTerm,
)
from guanxi.dataquality.models import MatchCandidate, MatchStatus, Merge
from guanxi.dataquality.services import candidate_decide, customers_merge, merge_undo
from guanxi.testing import make_customer

pytestmark = pytest.mark.django_db


def _state(*customer_ids: int) -> dict[str, object]:
    """Everything a merge touches, as comparable plain values."""
    def rows(model, *fields):
        return sorted(model.objects.filter(customer_id__in=customer_ids)
                      .values_list("pk", "customer_id", *fields))
    return {
        "customers": sorted(Customer.objects.filter(pk__in=customer_ids).values_list(
            "pk", "family_name", "given_name", "display_name", "gender", "birthday",
            "region", "occupation", "owner_id", "source", "attributes")),
        "identities": rows(Identity, "kind", "value", "verified", "is_primary"),
        "orders": rows(Order, "total"),
        "tags": rows(CustomerTag, "tag_id"),
        "consents": rows(Consent, "channel", "purpose", "granted"),
        "events": sorted(Event.objects.filter(customer_id__in=customer_ids)
                         .exclude(kind__in=["customer_merged", "customer_unmerged"])
                         .values_list("pk", "customer_id", "kind")),
        "terms": sorted(SearchTerm.objects.filter(customer_id__in=customer_ids)
                        .values_list("customer_id", "term")),
    }


@pytest.fixture
def pair(personas):
    a = make_customer(personas.manager, full_name="张伟", phones=["13800138000"],
                      tags=["VIP"], source="pos")
    b = make_customer(personas.manager, full_name="張偉", emails=["zw@example.com"],
                      phones=["13800138001"],
                      birthday=dt.date(1990, 1, 2), occupation="工程师", tags=["VIP", "新客"],
                      source="web", attributes={"shoe_size": 42})
    cs.order_create(actor=personas.manager, customer=b, lines=[
        cs.OrderLineInput(sku="X1", quantity=1, unit_price=Decimal("99.00"), name="茶")],
        channel="shop", external_id="S-1")
    cs.consent_set(actor=personas.manager, customer=a, channel="sms", purpose="marketing",
                   granted=False, source="pos")
    cs.consent_set(actor=personas.manager, customer=b, channel="sms", purpose="marketing",
                   granted=True, source="web form")
    return a, b


def test_merge_keeps_every_row_and_fills_gaps(personas, pair):
    # given
    a, b = pair
    b_identities = set(b.identities.values_list("pk", flat=True))
    b_orders = set(b.orders.values_list("pk", flat=True))
    # when
    merge = customers_merge(actor=personas.manager, survivor=a, absorbed=b)
    # then
    a.refresh_from_db()
    assert not Customer.objects.filter(pk=b.pk).exists()
    assert b_identities <= set(a.identities.values_list("pk", flat=True))
    assert b_orders <= set(a.orders.values_list("pk", flat=True))
    assert a.birthday == dt.date(1990, 1, 2) and a.occupation == "工程师"
    assert a.attributes == {"shoe_size": 42}
    assert sorted(a.tag_links.values_list("tag__name", flat=True)) == ["VIP", "新客"]
    sms = a.consents.get(channel="sms", purpose="marketing")
    assert sms.granted is True  # the newer answer wins
    assert a.events.filter(kind="customer_merged").exists()
    assert AuditEntry.objects.filter(action="customer.merge", customer_id=a.pk).exists()
    assert SearchTerm.objects.filter(customer=a, term="e:zw@example.com").exists()
    assert merge.absorbed_number == b.pk
    assert a.identities.filter(kind="phone", is_primary=True).count() == 1


def test_unmerge_restores_the_exact_prior_state(personas, pair):
    # given
    a, b = pair
    before = _state(a.pk, b.pk)
    merge = customers_merge(actor=personas.manager, survivor=a, absorbed=b)
    # when
    restored = merge_undo(actor=personas.manager, merge=merge)
    # then
    assert restored.pk == b.pk
    assert _state(a.pk, b.pk) == before
    merge.refresh_from_db()
    assert merge.undone_at is not None
    with pytest.raises(Conflict):
        merge_undo(actor=personas.manager, merge=merge)


def test_review_decisions_are_remembered(personas, pair):
    a, b = pair
    candidate = MatchCandidate.objects.create(left=a, right=b, probability=0.9, weight=5)
    candidate_decide(actor=personas.manager, candidate=candidate, same_person=False)
    candidate.refresh_from_db()
    assert candidate.status == MatchStatus.DISTINCT
    with pytest.raises(Conflict):
        candidate_decide(actor=personas.manager, candidate=candidate, same_person=True)


def test_merge_from_review_then_undo_marks_pair_distinct(personas, pair):
    a, b = pair
    candidate = MatchCandidate.objects.create(left=a, right=b, probability=0.9, weight=5)
    merge = candidate_decide(actor=personas.manager, candidate=candidate, same_person=True,
                             survivor_id=b.pk)
    assert merge is not None and merge.survivor_number == b.pk
    merge_undo(actor=personas.manager, merge=merge)
    candidate = MatchCandidate.objects.get(left=a, right=b)
    assert candidate.status == MatchStatus.DISTINCT  # undoing says: not the same person


@pytest.mark.parametrize("role", ["sales", "service", "marketing", "analyst", "norole"])
def test_only_managers_merge(personas, pair, role):
    a, b = pair
    with pytest.raises(PermissionDenied):
        customers_merge(actor=personas.by_role(role), survivor=a, absorbed=b)
    assert Merge.objects.count() == 0
