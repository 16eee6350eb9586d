"""The points lottery as members and staff use it: set-up checks, playing for points,
prizes delivered, stock and per-member limits, idempotency, the seed replaying every
ticket after the close."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from guanxi.core.errors import DomainError, InvalidInput
from guanxi.loyalty import draws, lottery, services
from guanxi.loyalty.models import Coupon, CouponTemplate, Draw, Member, Ticket
from guanxi.loyalty.views import member_link
from guanxi.testing import bearer, make_customer

pytestmark = pytest.mark.django_db


def _draw(personas, **kw):
    now = timezone.now()
    coupon = CouponTemplate.objects.create(name="10元券", kind="amount", value=10,
                                           per_customer=0)
    prizes = draws.parse_prizes(f"茶具, 1, 1, 0, , 2000\n50积分, 5, , 50\n"
                                f"10元券, 10, 100, 0, {coupon.pk}\n谢谢参与, 20")
    return draws.draw_save(actor=personas.manager, name="中秋抽奖", cost=10,
                           per_member=kw.get("per_member", 30),
                           starts_at=now - dt.timedelta(minutes=1),
                           ends_at=now + dt.timedelta(days=1), prizes=prizes)


def test_setup_checks_the_prize_table(programme, personas):
    now = timezone.now()
    with pytest.raises(InvalidInput) as info:
        draws.draw_save(actor=personas.manager, name="大奖", cost=10, per_member=1,
                        starts_at=now, ends_at=now + dt.timedelta(days=1),
                        prizes=draws.parse_prizes("汽车, 1, 1, 0, , 120000"))
    assert info.value.errors[0].field == "prizes.1" and "50,000" in info.value.errors[0].message
    with pytest.raises(InvalidInput) as bad:
        draws.parse_prizes("茶具, 一, 1")
    assert bad.value.errors[0].field == "prizes.1"
    draw = _draw(personas)
    assert draw.commitment == lottery.commitment(draw.seed)
    view = draws.draw_view(draw)
    assert view["seed"] is None and [p["percent"] for p in view["prizes"]] == [
        "2.778", "13.89", "27.78", "55.56"]


def test_members_play_for_points_and_the_seed_replays_every_ticket(programme, personas):
    draw = _draw(personas, per_member=25)
    a = make_customer(personas.admin, full_name="甲")
    b = make_customer(personas.admin, full_name="乙")
    for c in (a, b):
        services.points_award(actor=None, customer=c, points=1000, reason="x")
    results = []
    for i in range(25):
        for c in (a, b):
            results.append(draws.draw_play(actor=personas.service, customer=c, draw=draw,
                                           idempotency_key=f"{c.pk}-{i}"))
    # a repeated key draws nothing new
    assert draws.draw_play(actor=personas.service, customer=a, draw=draw,
                           idempotency_key=f"{a.pk}-0") == results[0]
    with pytest.raises(DomainError) as limit:
        draws.draw_play(actor=personas.service, customer=a, draw=draw, idempotency_key="x")
    assert "25" in str(limit.value)
    draw.refresh_from_db()
    prizes = list(draw.prizes.all())
    assert prizes[0].won <= 1 and prizes[2].won <= 100
    points_won = sum(50 for r in results if r["prize"] == "50积分")
    spent = 10 * 50
    balances = Member.objects.filter(customer__in=[a, b]).values_list("balance", flat=True)
    assert sum(balances) == 2000 - spent + points_won
    assert Coupon.objects.filter(source=f"draw:{draw.pk}").count() == sum(
        1 for r in results if r["prize"] == "10元券")
    # after the close the seed is published and replays every ticket
    Draw.objects.filter(pk=draw.pk).update(ends_at=timezone.now())
    draw.refresh_from_db()
    view = draws.draw_view(draw)
    assert lottery.commitment(view["seed"]) == view["commitment"]
    specs = [lottery.PrizeSpec(p["name"], 0, p["stock"]) for p in view["prizes"]]
    weights = [p.weight for p in prizes]
    specs = [lottery.PrizeSpec(s.name, w, s.stock) for s, w in zip(specs, weights,
                                                                     strict=True)]
    won = [0] * len(specs)
    for t in draws.draw_tickets(draw):
        assert lottery.play(specs, won, view["seed"], draw.pk, t["seq"],
                            t["customer_id"]) == t["prize"]
    with pytest.raises(DomainError):
        draws.draw_play(actor=personas.service, customer=b, draw=draw, idempotency_key="late")


def test_the_api_and_the_member_page(client, programme, personas):
    draw = _draw(personas)
    customer = make_customer(personas.admin, full_name="丙")
    services.points_award(actor=None, customer=customer, points=15, reason="x")
    headers = bearer(personas.service)
    listed = client.get("/api/v1/loyalty/draws", headers=headers).json()
    assert listed[0]["commitment"] == draw.commitment and listed[0]["seed"] is None
    played = client.post(f"/api/v1/loyalty/draws/{draw.pk}/play",
                         {"customer_id": customer.pk, "idempotency_key": "k1"},
                         content_type="application/json", headers=headers)
    assert played.status_code == 200 and played.json()["ticket"] == 0
    short = client.post(f"/api/v1/loyalty/draws/{draw.pk}/play",
                        {"customer_id": customer.pk, "idempotency_key": "k2"},
                        content_type="application/json", headers=headers)
    if played.json()["prize"] != "50积分":
        assert short.status_code == 409
        assert short.json()["type"] == "/problems/insufficient_points"
    tickets = client.get(f"/api/v1/loyalty/draws/{draw.pk}/tickets", headers=headers).json()
    assert tickets[0]["customer_id"] == customer.pk
    link = member_link(customer)
    page = client.get(link).content.decode()
    assert "中秋抽奖" in page and draw.commitment in page
    services.points_award(actor=None, customer=customer, points=100, reason="y")
    before = Ticket.objects.filter(draw=draw, customer=customer).count()
    result = client.post(f"{link}/draw/{draw.pk}", {"key": "tap"})
    assert result.status_code == 200
    assert 'data-testid="draw-outcome"' in result.content.decode()
    client.post(f"{link}/draw/{draw.pk}", {"key": "tap"})  # a double tap draws once
    assert Ticket.objects.filter(draw=draw, customer=customer).count() == before + 1
    assert client.post(f"{link[:-2]}xx/draw/{draw.pk}", {"key": "z"}).status_code == 404


def test_a_lottery_without_tickets_can_be_deleted_one_with_tickets_stays(client, programme,
                                                                        personas):
    from guanxi.core.errors import Conflict
    from guanxi.loyalty.setup import setup_delete

    unused = _draw(personas)
    played = _draw(personas)
    customer = make_customer(personas.admin, full_name="甲")
    services.points_award(actor=None, customer=customer, points=100, reason="x")
    draws.draw_play(actor=personas.service, customer=customer, draw=played,
                    idempotency_key="once")
    client.force_login(personas.manager)
    page = client.get("/loyalty/settings/").content.decode()
    assert f"/loyalty/settings/draw/{unused.pk}/delete" in page
    assert f"/loyalty/settings/draw/{played.pk}/delete" not in page
    client.post(f"/loyalty/settings/draw/{unused.pk}/delete")
    assert not Draw.objects.filter(pk=unused.pk).exists()
    with pytest.raises(Conflict):
        setup_delete(actor=personas.manager, kind="draw", pk=played.pk)
    assert Ticket.objects.filter(draw=played).count() == 1
