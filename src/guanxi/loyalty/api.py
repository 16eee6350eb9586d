"""REST endpoints of loyalty — the contract POS systems and shops integrate against.
Token scope `loyalty:read` / `loyalty:write`. Every write takes an `idempotency_key`:
repeating a request with its key returns the first answer and changes nothing; the same
key with a different request is a 422 `idempotency_key_reused`.

- `GET /api/v1/loyalty/members/{customer_id}`: tier, balance, expiring points
- `POST /api/v1/loyalty/members/{customer_id}/adjust` (points, reason, idempotency_key;
  managers and administrators)
- `POST /api/v1/loyalty/members/{customer_id}/redeem` (points, idempotency_key) → 200
  with the new balance, or 409 problem+json with code `insufficient_points`
- reservations (reserve → commit / release), rewards, actions, refunds, coupons (issue,
  validate, redeem), referrals, lotteries (draws, tickets, play) and member events
  (list, registrations, cancel, check-in; these are idempotent by nature: registering,
  cancelling or checking in again changes nothing)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.responses import Status

from guanxi.core.apitypes import Id, Limit
from guanxi.core.errors import InvalidInput
from guanxi.core.permissions import require
from guanxi.customers.models import Order
from guanxi.customers.selectors import customer_get, visible_customers
from guanxi.loyalty import (
    coupons,
    draws,
    events,
    referrals,
    reservations,
    rewards,
    selectors,
    services,
)
from guanxi.loyalty.models import CouponTemplate, Draw, MemberEvent, Reward
from guanxi.loyalty.permissions import LoyaltyAction

router = Router(tags=["loyalty"])

Key = Field(min_length=1, max_length=100,
            description="Unique per intended change: a repeat with it changes nothing")
Points = Field(ge=1, le=services.MAX_POINTS)


class Expiring(Schema):
    date: str
    points: int


class MemberOut(Schema):
    customer_id: int
    member: bool = Field(description="Joined the programme (earned or spent points)")
    tier: str | None
    next_tier: str | None
    to_next_tier: str | None = Field(description="Still to earn (points or spend)")
    balance: int
    reserved: int
    debt: int = Field(description="Points a refund took back after they were spent")
    expiring: list[Expiring] = Field(description="Points expiring in the next 90 days")
    downgrade_after: str | None


class BalanceOut(Schema):
    customer_id: int
    balance: int
    reserved: int
    debt: int


class RedeemIn(Schema):
    points: int = Points
    idempotency_key: str = Key
    reference: str = Field("", max_length=100, description="Your order or receipt number")


class AdjustIn(Schema):
    points: int = Field(ge=-services.MAX_POINTS, le=services.MAX_POINTS,
                        description="Positive adds, negative takes away; not zero")
    reason: str = Field(min_length=1, max_length=200)
    idempotency_key: str = Key


class AdjustOut(BalanceOut):
    pending: bool = Field(description="Above the programme's limit: waits for approval")
    approval_id: int | None


class MovementOut(Schema):
    id: int
    kind: str
    points: int
    reason: str
    order_id: int | None
    created_at: dt.datetime


class ActionIn(Schema):
    action: str = Field(max_length=40, description="review, sign_in, … (the programme's)")
    idempotency_key: str = Key


class ReserveIn(RedeemIn):
    pass


class KeyIn(Schema):
    idempotency_key: str = Key


class ReservationOut(Schema):
    id: int
    points: int
    state: str
    reference: str
    expires_at: str
    balance: int
    reserved: int


class RefundIn(Schema):
    amount: Decimal | None = Field(None, gt=0, max_digits=14, decimal_places=2,
                                   description="Refunded amount; empty: the whole order")
    idempotency_key: str = Key


class RefundOut(Schema):
    order_id: int
    points_reversed: int


class RewardOut(Schema):
    id: int
    name: str
    points: int
    stock: int | None
    coupon_template_id: int | None = Field(None, alias="coupon_id")


class RewardRedeemOut(BalanceOut):
    reward: str
    coupon: str | None


class CouponIssueIn(Schema):
    template_id: Id
    customer_id: Id
    idempotency_key: str = Key


class CouponOut(Schema):
    code: str
    template: str
    kind: str
    discount: str
    gift: str
    state: str
    valid_until: str
    customer_id: int | None


class ItemIn(Schema):
    sku: str = Field(max_length=64)
    category: str = Field("", max_length=100)
    amount: Decimal = Field(ge=0, max_digits=14, decimal_places=2,
                            description="The line's total")


class CouponCheckIn(Schema):
    codes: list[str] = Field(min_length=1, max_length=10)
    customer_id: Id | None = None
    items: list[ItemIn] = Field(min_length=1, max_length=500)


class CouponRedeemIn(CouponCheckIn):
    order_ref: str = Field(max_length=100)
    idempotency_key: str = Key


class CouponRedeemOut(Schema):
    coupons: list[CouponOut]
    discount: str


class ReferralCodeOut(Schema):
    customer_id: int
    code: str
    link: str


class AddressIn(Schema):
    province: str = Field("", max_length=60)
    city: str = Field("", max_length=60)
    district: str = Field("", max_length=60)
    street: str = Field("", max_length=200)


class ReferralIn(Schema):
    code: str = Field(min_length=1, max_length=12, description="The referrer's code")
    customer_id: Id = Field(description="The new customer (the friend)")
    phone: str = Field("", max_length=40, description="What the shop saw at sign-up or "
                                                       "checkout, for the household guard")
    address: AddressIn | None = None
    payment_id: str = Field("", max_length=200, description="The payment account's id")


class ReferralOut(Schema):
    id: int
    referrer_id: int
    referee_id: int
    state: str = Field(description="pending (until the first paid order), rewarded, "
                                   "rejected")
    reason: str = Field(description="Why rejected: self, same_phone, same_address, "
                                    "same_payment")


def _customer(request: HttpRequest, customer_id: int) -> Any:
    return customer_get(actor=request.user, customer_id=customer_id)


@router.get("/loyalty/members/{customer_id}", response=MemberOut,
            summary="A member's tier, balance and expiring points")
def member_get(request: HttpRequest, customer_id: Id) -> Any:
    return selectors.member_get(actor=request.user, customer_id=customer_id)[1]


@router.get("/loyalty/members/{customer_id}/movements", response=list[MovementOut],
            summary="A member's latest point movements")
def member_movements(request: HttpRequest, customer_id: Id, limit: Limit = 50) -> Any:
    require(request.user, LoyaltyAction.VIEW)
    return selectors.movements(request.user, _customer(request, customer_id),
                               limit=min(limit, 500))


@router.post("/loyalty/members/{customer_id}/redeem", response=BalanceOut,
             summary="Spend points (409 insufficient_points when short)")
def member_redeem(request: HttpRequest, customer_id: Id, payload: RedeemIn) -> Any:
    return services.points_redeem(actor=request.user, customer=_customer(request, customer_id),
                                  points=payload.points, reference=payload.reference,
                                  idempotency_key=payload.idempotency_key)


@router.post("/loyalty/members/{customer_id}/adjust", response=AdjustOut,
             summary="Adjust points by hand, with a reason")
def member_adjust(request: HttpRequest, customer_id: Id, payload: AdjustIn) -> Any:
    return services.points_adjust(actor=request.user, customer=_customer(request, customer_id),
                                  points=payload.points, reason=payload.reason,
                                  idempotency_key=payload.idempotency_key)


@router.post("/loyalty/members/{customer_id}/actions", response=BalanceOut,
             summary="Points for an action (a review, a sign-in, …)")
def member_action(request: HttpRequest, customer_id: Id, payload: ActionIn) -> Any:
    return services.points_for_action(actor=request.user,
                                      customer=_customer(request, customer_id),
                                      action=payload.action,
                                      idempotency_key=payload.idempotency_key)


@router.post("/loyalty/members/{customer_id}/reservations", response=ReservationOut,
             summary="Hold points for a payment")
def reservation_create(request: HttpRequest, customer_id: Id, payload: ReserveIn) -> Any:
    return reservations.reservation_create(
        actor=request.user, customer=_customer(request, customer_id), points=payload.points,
        reference=payload.reference, idempotency_key=payload.idempotency_key)


@router.post("/loyalty/members/{customer_id}/reservations/{reservation_id}/commit",
             response=ReservationOut, summary="Redeem held points (the payment went through)")
def reservation_commit(request: HttpRequest, customer_id: Id, reservation_id: Id,
                       payload: KeyIn) -> Any:
    return reservations.reservation_commit(
        actor=request.user, customer=_customer(request, customer_id),
        reservation_id=reservation_id, idempotency_key=payload.idempotency_key)


@router.post("/loyalty/members/{customer_id}/reservations/{reservation_id}/release",
             response=ReservationOut, summary="Give held points back")
def reservation_release(request: HttpRequest, customer_id: Id, reservation_id: Id,
                        payload: KeyIn) -> Any:
    return reservations.reservation_release(
        actor=request.user, customer=_customer(request, customer_id),
        reservation_id=reservation_id, idempotency_key=payload.idempotency_key)


@router.post("/loyalty/orders/{order_id}/refund", response=RefundOut,
             summary="Take back an order's points for a refund (proportional)")
def order_refund(request: HttpRequest, order_id: Id, payload: RefundIn) -> Any:
    require(request.user, LoyaltyAction.WORK)
    order = get_object_or_404(Order.objects.select_related("customer"), pk=order_id)
    _customer(request, order.customer_id)
    return services.points_refund(actor=request.user, order=order, refunded=payload.amount,
                                  idempotency_key=payload.idempotency_key)


@router.get("/loyalty/rewards", response=list[RewardOut], summary="The rewards catalogue")
def rewards_list(request: HttpRequest) -> Any:
    require(request.user, LoyaltyAction.VIEW)
    return selectors.rewards_offered()


@router.post("/loyalty/members/{customer_id}/rewards/{reward_id}/redeem",
             response=RewardRedeemOut, summary="Take a reward for points")
def reward_redeem(request: HttpRequest, customer_id: Id, reward_id: Id,
                  payload: KeyIn) -> Any:
    reward = get_object_or_404(Reward, pk=reward_id)
    return rewards.reward_redeem(actor=request.user, customer=_customer(request, customer_id),
                                 reward=reward, idempotency_key=payload.idempotency_key)


@router.get("/loyalty/members/{customer_id}/coupons", response=list[CouponOut],
            summary="A customer's coupons")
def member_coupons(request: HttpRequest, customer_id: Id) -> Any:
    require(request.user, LoyaltyAction.VIEW)
    return [coupons.coupon_out(c) for c in selectors.coupons_of(_customer(request, customer_id))]


@router.post("/loyalty/coupons/issue", response=CouponOut, summary="Issue a coupon")
def coupon_issue(request: HttpRequest, payload: CouponIssueIn) -> Any:
    template = get_object_or_404(CouponTemplate, pk=payload.template_id)
    coupon = coupons.coupon_issue(
        actor=request.user, template=template,
        customer=_customer(request, payload.customer_id), source="api",
        key=f"api:{request.user.pk}:{payload.idempotency_key}")
    return coupons.coupon_out(coupon)


def _items(payload: CouponCheckIn) -> list[coupons.Item]:
    return [coupons.Item(i.sku, i.category, i.amount) for i in payload.items]


@router.post("/loyalty/coupons/validate", response=list[CouponOut],
             summary="What the codes take off an order (nothing is used)")
def coupon_validate(request: HttpRequest, payload: CouponCheckIn) -> Any:
    customer = _customer(request, payload.customer_id) if payload.customer_id else None
    return coupons.coupons_validate(actor=request.user, codes=payload.codes,
                                    customer=customer, items=_items(payload))


@router.post("/loyalty/coupons/redeem", response=CouponRedeemOut,
             summary="Use coupons on an order (each code once)")
def coupon_redeem(request: HttpRequest, payload: CouponRedeemIn) -> Any:
    customer = _customer(request, payload.customer_id) if payload.customer_id else None
    return coupons.coupons_redeem(actor=request.user, codes=payload.codes, customer=customer,
                                  items=_items(payload), order_ref=payload.order_ref,
                                  idempotency_key=payload.idempotency_key)


@router.get("/loyalty/members/{customer_id}/referral", response=ReferralCodeOut,
            summary="A member's referral code and link")
def member_referral(request: HttpRequest, customer_id: Id) -> Any:
    require(request.user, LoyaltyAction.VIEW)
    customer = _customer(request, customer_id)
    return {"customer_id": customer.pk, "code": referrals.referral_code(customer),
            "link": referrals.referral_link(customer)}


@router.post("/loyalty/referrals", response={201: ReferralOut},
             summary="A new customer arrived with a member's referral code")
def referral_record(request: HttpRequest, payload: ReferralIn) -> Any:
    address = payload.address
    referral = referrals.referral_record(
        actor=request.user, code=payload.code,
        referee=_customer(request, payload.customer_id), phone=payload.phone,
        address=(address.province, address.city, address.district, address.street)
        if address else (), payment_id=payload.payment_id)
    return Status(201, referral)


class PrizeOut(Schema):
    name: str
    odds: float = Field(description="Published probability of a draw winning it")
    stock: int | None
    left: int | None
    points: int
    coupon_id: int | None
    value: str = Field(description="What it is worth, in yuan (at most 50,000)")


class DrawOut(Schema):
    id: int
    name: str
    cost: int
    per_member: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    open: bool
    commitment: str = Field(description="SHA-256 of the seed, published before it opened")
    seed: str | None = Field(description="Revealed when the draw has closed")
    prizes: list[PrizeOut]


class DrawTicketOut(Schema):
    seq: int
    customer_id: int
    prize: int | None = Field(description="The prize's position in the table, or none")


class PlayIn(Schema):
    customer_id: Id
    idempotency_key: str = Key


class PlayOut(BalanceOut):
    ticket: int
    prize: str | None
    coupon: str | None


@router.get("/loyalty/draws", response=list[DrawOut], summary="Points lotteries")
def draws_list(request: HttpRequest) -> Any:
    require(request.user, LoyaltyAction.VIEW)
    return [draws.draw_view(d) for d in Draw.objects.prefetch_related("prizes")
            .order_by("-starts_at")[:100]]


@router.get("/loyalty/draws/{draw_id}", response=DrawOut,
            summary="A lottery: prize table, odds, commitment, revealed seed")
def draw_get(request: HttpRequest, draw_id: Id) -> Any:
    require(request.user, LoyaltyAction.VIEW)
    return draws.draw_view(get_object_or_404(Draw, pk=draw_id))


@router.get("/loyalty/draws/{draw_id}/tickets", response=list[DrawTicketOut],
            summary="Every ticket, to replay with the revealed seed")
def draw_tickets(request: HttpRequest, draw_id: Id) -> Any:
    require(request.user, LoyaltyAction.VIEW)
    return draws.draw_tickets(get_object_or_404(Draw, pk=draw_id))


@router.post("/loyalty/draws/{draw_id}/play", response=PlayOut,
             summary="Draw once for a member (costs points)")
def draw_play(request: HttpRequest, draw_id: Id, payload: PlayIn) -> Any:
    draw = get_object_or_404(Draw, pk=draw_id)
    return draws.draw_play(actor=request.user,
                           customer=_customer(request, payload.customer_id), draw=draw,
                           idempotency_key=payload.idempotency_key)


# --- member events ----------------------------------------------------------------------

class MemberEventOut(Schema):
    id: int
    name: str
    description: str
    location: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    points: int = Field(description="Points a member earns for attending")
    open_to_members: bool = Field(description="Members may register on their own page")
    cancelled: bool
    registered: int = Field(description="Places taken (registered or attended)")
    waiting: int
    attended: int
    places_left: int


class RegistrationIn(Schema):
    customer_id: Id


class CheckInIn(Schema):
    customer_id: Id | None = Field(None, description="The member, or give `code`")
    code: str | None = Field(None, max_length=200,
                             description="The code under the QR code on the member's page "
                                         "(or the whole scanned link)")


class RegistrationOut(Schema):
    event_id: int
    customer_id: int
    state: str = Field(description="registered, waiting, attended or cancelled")
    source: str = Field(description="staff, member or api")
    waiting_position: int | None = Field(description="Place in the waiting line")
    checked_in_at: dt.datetime | None


def _event(event_id: int) -> MemberEvent:
    return get_object_or_404(MemberEvent, pk=event_id)


@router.get("/loyalty/events", response=list[MemberEventOut],
            summary="Member events that have not ended (past ones with past=true)")
def events_list(request: HttpRequest, past: bool = False) -> Any:
    require(request.user, LoyaltyAction.VIEW)
    listed = events.past() if past else events.upcoming()
    return [events.event_view(e) for e in listed[:100]]


@router.get("/loyalty/events/{event_id}", response=MemberEventOut, summary="A member event")
def event_get(request: HttpRequest, event_id: Id) -> Any:
    require(request.user, LoyaltyAction.VIEW)
    return events.event_view(_event(event_id))


@router.get("/loyalty/events/{event_id}/registrations", response=list[RegistrationOut],
            summary="Who registered, waits or attended")
def event_registrations(request: HttpRequest, event_id: Id) -> Any:
    require(request.user, LoyaltyAction.VIEW)
    rows = events.registrations_of(_event(event_id)).filter(
        customer__in=visible_customers(request.user))[:1000]
    return [events.registration_view(r) for r in rows]


@router.post("/loyalty/events/{event_id}/registrations", response=RegistrationOut,
             summary="Register a member (the waiting list when full; a repeat changes "
                     "nothing)")
def event_register(request: HttpRequest, event_id: Id, payload: RegistrationIn) -> Any:
    registration = events.event_register(
        actor=request.user, event=_event(event_id),
        customer=_customer(request, payload.customer_id), source="api")
    return events.registration_view(registration)


@router.delete("/loyalty/events/{event_id}/registrations/{customer_id}",
               response=RegistrationOut,
               summary="Cancel a registration (the first on the waiting list moves up)")
def event_unregister(request: HttpRequest, event_id: Id, customer_id: Id) -> Any:
    registration = events.registration_cancel(
        actor=request.user, event=_event(event_id),
        customer=_customer(request, customer_id))
    return events.registration_view(registration)


@router.post("/loyalty/events/{event_id}/check-in", response=RegistrationOut,
             summary="Check a member in at the door (attendance and its points, once)")
def event_check_in(request: HttpRequest, event_id: Id, payload: CheckInIn) -> Any:
    event = _event(event_id)
    if payload.code:
        customer = _customer(request, events.customer_for_code(event, payload.code).pk)
    elif payload.customer_id:
        customer = _customer(request, payload.customer_id)
    else:
        raise InvalidInput.single("customer_id", _("Give the member or the check-in code"))
    return events.registration_view(events.check_in(actor=request.user, event=event,
                                                    customer=customer))
