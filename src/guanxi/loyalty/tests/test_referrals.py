"""Referrals: a code and link per member, guards against the member themselves and their
household, both rewarded once after the friend's first paid order, the tree."""

from __future__ import annotations

from decimal import Decimal

import pytest

from guanxi.core.errors import Conflict, InvalidInput, NotFound
from guanxi.customers.services import AddressInput, OrderLineInput, order_create
from guanxi.loyalty import referrals
from guanxi.loyalty.models import Member, Referral
from guanxi.testing import bearer, make_customer

pytestmark = pytest.mark.django_db


def _buy(actor, customer, amount="50.00"):
    return order_create(actor=actor, customer=customer,
                        lines=[OrderLineInput(sku="TEA", unit_price=Decimal(amount))])


def test_friend_and_member_are_rewarded_once_after_the_first_paid_order(programme, personas):
    member = make_customer(personas.admin, full_name="老会员")
    friend = make_customer(personas.admin, full_name="新朋友")
    code = referrals.referral_code(member)
    assert len(code) == 8 and referrals.referral_code(member) == code
    assert referrals.referral_link(member).endswith(f"/r/{code}")
    referral = referrals.referral_record(actor=personas.service, code=code.lower(),
                                         referee=friend)
    assert referral.state == "pending"
    first = _buy(personas.admin, friend)
    assert referrals.referral_reward(first).state == "rewarded"
    assert referrals.referral_reward(first) is None  # once
    assert referrals.referral_reward(_buy(personas.admin, friend)) is None
    assert Member.objects.get(customer=member).balance == 200
    assert Member.objects.get(customer=friend).balance == 100
    assert referrals.referral_record(actor=personas.service, code=code,
                                     referee=friend) == referral  # sent again
    other = make_customer(personas.admin, full_name="另一位会员")
    with pytest.raises(Conflict):
        referrals.referral_record(actor=personas.service,
                                  code=referrals.referral_code(other), referee=friend)
    tree = referrals.referral_tree(member)
    assert [n["customer"] for n in tree["children"]] == [friend]
    assert referrals.referral_tree(friend)["parent"] == referral


def test_guards_refuse_self_and_household(programme, personas):
    member = make_customer(personas.admin, full_name="甲", phones=["13800138000"],
                           addresses=[AddressInput(province="浙江省", city="杭州市",
                                                   district="西湖区", street="文三路1号")])
    code = referrals.referral_code(member)
    assert referrals.referral_record(actor=None, code=code, referee=member).reason == "self"
    same_phone = make_customer(personas.admin, full_name="乙")
    assert referrals.referral_record(actor=None, code=code, referee=same_phone,
                                     phone="138 0013 8000").reason == "same_phone"
    home = make_customer(personas.admin, full_name="丙",
                         addresses=[AddressInput(province="浙江省", city="杭州市",
                                                 district="西湖区", street="文三路1号")])
    rejected = referrals.referral_record(actor=None, code=code, referee=home)
    assert (rejected.state, rejected.reason) == ("rejected", "same_address")
    referrals.referral_reward(_buy(personas.admin, home))
    assert not Member.objects.filter(customer=home, balance__gt=0).exists()
    old = make_customer(personas.admin, full_name="丁")
    _buy(personas.admin, old)
    with pytest.raises(InvalidInput):
        referrals.referral_record(actor=None, code=code, referee=old)
    with pytest.raises(NotFound):
        referrals.referral_record(actor=None, code="NOPE1234", referee=old)
    assert Referral.objects.filter(state="rejected").count() == 3


def test_referral_api_and_pages(client, programme, personas):
    member = make_customer(personas.admin, full_name="老会员")
    friend = make_customer(personas.admin, full_name="新朋友")
    headers = bearer(personas.service)
    got = client.get(f"/api/v1/loyalty/members/{member.pk}/referral", headers=headers).json()
    r = client.post("/api/v1/loyalty/referrals", {"code": got["code"],
                                                  "customer_id": friend.pk,
                                                  "payment_id": "alipay-1"},
                    content_type="application/json", headers=headers)
    assert r.status_code == 201 and r.json()["state"] == "pending"
    landing = client.get(f"/r/{got['code']}")
    assert landing.status_code == 200 and got["code"] in landing.content.decode()
    assert client.get("/r/NOPE").status_code == 404
    client.force_login(personas.manager)
    page = client.get(f"/loyalty/customers/{member.pk}/").content.decode()
    assert "新朋友" in page
    panel = client.get(f"/customers/{friend.pk}/").content.decode()
    assert 'data-testid="panel-referrals"' in panel and "老会员" in panel
