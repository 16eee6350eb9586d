"""Loyalty's pages: the programme dashboard (with adjustments waiting for approval), the
settings page, the 360 panel's actions (adjust points, take a reward, issue a coupon), a
coupon batch download, and the member's own page behind a signed link."""

from __future__ import annotations

import csv
import uuid

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.core.errors import DomainError, FieldError, InvalidInput
from guanxi.core.permissions import can, require, sees_masked
from guanxi.customers.models import Customer
from guanxi.customers.selectors import customer_get, customer_search, visible_customers
from guanxi.loyalty import coupons, draws, events, referrals, rewards, selectors, services, setup
from guanxi.loyalty.models import (
    CouponTemplate,
    Draw,
    EarnRule,
    MemberEvent,
    Reward,
    Tier,
)
from guanxi.loyalty.permissions import LoyaltyAction

SALT = "loyalty.member"


def member_link(customer: Customer) -> str:
    """The member page's path: signed, so a changed link shows nothing."""
    return reverse("loyalty_member_page",
                   args=[signing.Signer(salt=SALT).sign(str(customer.pk))])


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    stats = selectors.dashboard(request.user, days=30)
    pending = selectors.adjustments_pending(limit=50)
    most = max((n for _name, n in stats["tiers"]), default=0) or 1
    return render(request, "loyalty/dashboard.html", {
        "stats": stats, "pending": pending, "masked": sees_masked(request.user),
        "tiers": [(name, n, round(100 * n / most)) for name, n in stats["tiers"]]})


@login_required
@require_POST
def adjustment_decide(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.adjustment_decide(actor=request.user, pending_id=pk,
                                   approve=request.POST.get("approve") == "1")
        flash.success(request, _("Saved."))
    except DomainError as exc:
        flash.error(request, exc.for_people())
    return redirect("loyalty:dashboard")


@login_required
def programme_settings(request: HttpRequest) -> HttpResponse:
    require(request.user, LoyaltyAction.MANAGE)
    section = request.POST.get("section", "")
    errors: list[FieldError] = []
    forms = {kind: setup.form_for(kind, services.programme_get() if kind == "programme"
                                  else None) for kind in setup.FORMS}
    if request.method == "POST":
        instance = services.programme_get() if section == "programme" else None
        try:
            setup.setup_save(actor=request.user, kind=section, data=request.POST,
                             instance=instance)
            flash.success(request, _("Saved."))
            return redirect(reverse("loyalty:settings") + f"#{section}")
        except DomainError as exc:
            errors = exc.as_fields()
            if section in setup.FORMS:
                forms[section] = setup.form_for(section, instance, request.POST)
    return render(request, "loyalty/settings.html", {
        "forms": forms, "errors": errors, "tiers": Tier.objects.all(),
        "rules": EarnRule.objects.all(), "rewards": Reward.objects.select_related("coupon"),
        "templates": CouponTemplate.objects.order_by("-pk"),
        "draws": [draws.draw_view(d) for d in Draw.objects.prefetch_related("prizes")
                  .order_by("-starts_at")[:20]]}, status=422 if errors else 200)


@login_required
@require_POST
def draw_new(request: HttpRequest) -> HttpResponse:
    """A new points lottery from the set-up page."""
    from django.utils.dateparse import parse_datetime

    require(request.user, LoyaltyAction.MANAGE)
    post = request.POST
    try:
        starts = parse_datetime(post.get("starts_at", ""))
        ends = parse_datetime(post.get("ends_at", ""))
        errors = [FieldError(f, _("Give a date and time"), post.get(f, ""))
                  for f, v in (("starts_at", starts), ("ends_at", ends)) if v is None]
        numbers = {}
        for field in ("cost", "per_member"):
            try:
                numbers[field] = int(post.get(field, ""))
            except ValueError:
                errors.append(FieldError(field, _("Give a number"), post.get(field, "")))
        if errors:
            raise InvalidInput(errors)
        assert starts is not None and ends is not None
        tz = timezone.get_current_timezone()
        draws.draw_save(actor=request.user, name=post.get("name", ""),
                        cost=numbers["cost"], per_member=numbers["per_member"],
                        starts_at=timezone.make_aware(starts, tz)
                        if timezone.is_naive(starts) else starts,
                        ends_at=timezone.make_aware(ends, tz)
                        if timezone.is_naive(ends) else ends,
                        prizes=draws.parse_prizes(post.get("prizes", "")))
        flash.success(request, _("Saved."))
    except DomainError as exc:
        flash.error(request, exc.for_people())
    return redirect(reverse("loyalty:settings") + "#draw")


@login_required
@require_POST
def setup_delete(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    try:
        setup.setup_delete(actor=request.user, kind=kind, pk=pk)
        flash.success(request, _("Deleted."))
    except DomainError as exc:
        flash.error(request, exc.for_people())
    return redirect(reverse("loyalty:settings") + f"#{kind}")


@login_required
@require_POST
def coupon_batch(request: HttpRequest, pk: int) -> HttpResponse:
    template = get_object_or_404(CouponTemplate, pk=pk)
    try:
        count = int(request.POST.get("count", "0"))
    except ValueError:
        count = 0
    try:
        codes = coupons.coupons_generate(actor=request.user, template=template, count=count)
    except DomainError as exc:
        flash.error(request, exc.for_people())
        return redirect(reverse("loyalty:settings") + "#coupon")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="coupons-{template.pk}.csv"'
    writer = csv.writer(response)
    writer.writerow(["code", "template", "valid_until"])
    until = template.valid_until.date().isoformat() if template.valid_until else ""
    for code in codes:
        writer.writerow([coupons.code_show(code), template.name, until])
    return response


@login_required
@require_POST
def customer_act(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The 360 panel's buttons: adjust points, take a reward, issue a coupon."""
    customer = customer_get(actor=request.user, customer_id=customer_id)
    what = request.POST.get("what", "")
    # A form submitted twice (a double click) carries the same key: it acts once.
    key = request.POST.get("key") or uuid.uuid4().hex
    try:
        if what == "adjust":
            try:
                points = int(request.POST.get("points", ""))
            except ValueError as exc:
                raise InvalidInput.single("points", _("A whole number of points")) from exc
            result = services.points_adjust(actor=request.user, customer=customer,
                                            points=points,
                                            reason=request.POST.get("reason", ""),
                                            idempotency_key=f"web:{key}")
            flash.success(request, _("Waiting for a second person's approval.")
                          if result["pending"] else _("Points adjusted."))
        elif what == "reward":
            reward = get_object_or_404(Reward, pk=request.POST.get("reward") or 0)
            result = rewards.reward_redeem(actor=request.user, customer=customer,
                                           reward=reward, idempotency_key=f"web:{key}")
            flash.success(request, _("%(reward)s redeemed.") % {"reward": reward.name}
                          + (f" {result['coupon']}" if result["coupon"] else ""))
        elif what == "coupon":
            template = get_object_or_404(CouponTemplate, pk=request.POST.get("template") or 0)
            coupon = coupons.coupon_issue(actor=request.user, template=template,
                                          customer=customer, source="staff",
                                          key=f"web:{key}")
            flash.success(request, _("Coupon %(code)s issued.")
                          % {"code": coupons.code_show(coupon.code)})
        elif what == "event":
            event = get_object_or_404(MemberEvent, pk=request.POST.get("event") or 0)
            registration = events.event_register(actor=request.user, event=event,
                                                 customer=customer)
            flash.success(request, _("On the waiting list.")
                          if registration.state == "waiting" else _("Registered."))
        else:
            raise Http404
    except DomainError as exc:
        flash.error(request, exc.for_people())
    if request.POST.get("back") == "loyalty":
        return redirect("loyalty:customer", customer_id=customer.pk)
    return redirect(reverse("customers:detail", args=[customer.pk]) + "#loyalty")


@login_required
def customer_loyalty(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The member's loyalty page for staff: movements, coupons and the actions."""
    require(request.user, LoyaltyAction.VIEW)
    customer = customer_get(actor=request.user, customer_id=customer_id)
    return render(request, "loyalty/customer.html", {
        "loyalty": selectors.member_view(customer), "customer": customer,
        "can_work": can(request.user, LoyaltyAction.WORK),
        "can_adjust": can(request.user, LoyaltyAction.ADJUST),
        "journals": selectors.journals(customer, limit=200),
        "coupons": selectors.coupons_of(customer), "link": member_link(customer),
        "rewards": selectors.rewards_offered(),
        "templates": CouponTemplate.objects.filter(active=True).order_by("name"),
        "key": uuid.uuid4().hex, "masked": sees_masked(request.user),
        "tree": referrals.referral_tree(customer),
        "referral_link": referrals.referral_link(customer),
        "registrations": selectors.registrations_of_customer(customer),
        "events": events.upcoming()[:50]})


def referral_landing(request: HttpRequest, code: str) -> HttpResponse:
    """Where a member's referral link or QR code leads: who invited the friend and the
    code to give at sign-up or checkout."""
    from guanxi.loyalty.models import Member

    member = Member.objects.filter(referral_code=code.upper()).select_related(
        "customer").first()
    if member is None:
        raise Http404
    name = member.customer.family_name or member.customer.display_name[:1]
    return render(request, "loyalty/referral_landing.html", {"code": member.referral_code,
                                                             "name": name})


def _member(token: str) -> Customer:
    try:
        customer_id = int(signing.Signer(salt=SALT).unsign(token))
    except (signing.BadSignature, ValueError) as exc:
        raise Http404 from exc
    return get_object_or_404(Customer, pk=customer_id)


@require_POST
def member_draw(request: HttpRequest, token: str, pk: int) -> HttpResponse:
    """The member draws in a lottery from their page (the key in the form makes a
    double tap draw once)."""
    customer = _member(token)
    draw = get_object_or_404(Draw, pk=pk)
    key = (request.POST.get("key") or uuid.uuid4().hex)[:100]
    try:
        result = draws.draw_play(actor=None, customer=customer, draw=draw,
                                 idempotency_key=f"member:{key}")
        outcome = (_("You won: %(prize)s") % {"prize": result["prize"]} if result["prize"]
                   else _("Not this time. Thank you for playing!"))
        if result["coupon"]:
            outcome += " " + result["coupon"]
    except DomainError as exc:
        outcome = exc.for_people()
    return member_page(request, token, outcome=outcome)


def member_page(request: HttpRequest, token: str, outcome: str = "") -> HttpResponse:
    """The member's own mobile page (also for a WeChat menu): tier and progress, points
    with upcoming expiries, coupons, referral code, lotteries."""
    customer = _member(token)
    link = referrals.referral_link(customer)
    now = timezone.now()
    open_draws = [draws.draw_view(d, now=now) for d in Draw.objects.filter(
        starts_at__lte=now, ends_at__gt=now).prefetch_related("prizes").order_by("ends_at")]
    return render(request, "loyalty/member_page.html", {
        "draws": open_draws, "outcome": outcome, "key": uuid.uuid4().hex, "token": token,
        "code": referrals.referral_code(customer), "link": link,
        "qr": mark_safe(referrals.qr_svg(link)),  # noqa: S308 - an SVG qrcode made
        "customer": customer, "loyalty": selectors.member_view(customer),
        "coupons": [(c, coupons.code_show(c.code))
                    for c in selectors.coupons_of(customer, usable_only=True)],
        "events": [dict(row, qr=mark_safe(referrals.qr_svg(  # noqa: S308 - our SVG
            events.check_in_link_for(row["check_in"]))) if row["check_in"] else "")
                   for row in events.for_member(customer)],
        "rewards": selectors.rewards_offered()[:20]})


# --- member events ----------------------------------------------------------------------

@login_required
def events_page(request: HttpRequest) -> HttpResponse:
    """Member events: coming and past, with places taken and the waiting line; managers
    add new ones here."""
    require(request.user, LoyaltyAction.VIEW)
    errors: list[FieldError] = []
    form = setup.form_for("event")
    if request.method == "POST":
        try:
            event = events.event_save(actor=request.user, data=request.POST)
            flash.success(request, _("Saved."))
            return redirect("loyalty:event", pk=event.pk)
        except DomainError as exc:
            errors = exc.as_fields()
            form = setup.form_for("event", None, request.POST)
    now = timezone.now()
    return render(request, "loyalty/events.html", {
        "coming": events.with_counts(MemberEvent.objects.filter(ends_at__gt=now))
        .order_by("starts_at")[:100],
        "past": events.past(now)[:50],
        "form": form, "errors": errors,
        "can_manage": can(request.user, LoyaltyAction.MANAGE)},
        status=422 if errors else 200)


@login_required
def event_page(request: HttpRequest, pk: int) -> HttpResponse:
    """One event: who registered, who waits, who came; register a member found by name,
    phone or number; check in by the code on the member's page; edit or call it off."""
    require(request.user, LoyaltyAction.VIEW)
    event = get_object_or_404(MemberEvent, pk=pk)
    errors: list[FieldError] = []
    form = setup.form_for("event", event)
    if request.method == "POST":
        what = request.POST.get("what", "")
        try:
            if what == "save":
                form = setup.form_for("event", event, request.POST)
                events.event_save(actor=request.user, data=request.POST, instance=event)
                flash.success(request, _("Saved."))
            elif what == "cancel_event":
                n = events.event_cancel(actor=request.user, event=event)
                flash.success(request, _("Event cancelled; %(n)d registrations cancelled.")
                              % {"n": n})
            elif what == "code":
                _check_in(request, event,
                          events.customer_for_code(event, request.POST.get("code", "")))
            elif what in ("register", "cancel", "check_in"):
                customer = customer_get(actor=request.user,
                                        customer_id=int(request.POST.get("customer") or 0))
                if what == "register":
                    registration = events.event_register(actor=request.user, event=event,
                                                         customer=customer)
                    flash.success(request, _("On the waiting list.")
                                  if registration.state == "waiting" else _("Registered."))
                elif what == "cancel":
                    events.registration_cancel(actor=request.user, event=event,
                                               customer=customer)
                    flash.success(request, _("Registration cancelled."))
                else:
                    _check_in(request, event, customer)
            else:
                raise Http404
            return redirect("loyalty:event", pk=event.pk)
        except DomainError as exc:
            if what == "save":
                errors = exc.as_fields()
            else:
                flash.error(request, exc.for_people())
                return redirect("loyalty:event", pk=event.pk)
    q = request.GET.get("q", "").strip()
    found = customer_search(actor=request.user, q=q, limit=10).items if q else []
    return render(request, "loyalty/event.html", {
        "event": events.event_view(event), "form": form, "errors": errors, "q": q,
        "found": found, "registrations": events.registrations_of(event).filter(
            customer__in=visible_customers(request.user)),
        "can_work": can(request.user, LoyaltyAction.WORK),
        "can_manage": can(request.user, LoyaltyAction.MANAGE)},
        status=422 if errors else 200)


def _check_in(request: HttpRequest, event: MemberEvent, customer: Customer) -> None:
    events.check_in(actor=request.user, event=event, customer=customer)
    flash.success(request, _("%(name)s checked in.") % {"name": customer})


@login_required
def check_in_page(request: HttpRequest, token: str) -> HttpResponse:
    """Where the QR code on a member's page leads a member of staff: who it is and the
    event, and the button that checks them in."""
    require(request.user, LoyaltyAction.WORK)
    try:
        event, customer = events.from_token(token)
    except DomainError as exc:
        raise Http404 from exc
    customer = customer_get(actor=request.user, customer_id=customer.pk)
    if request.method == "POST":
        try:
            _check_in(request, event, customer)
        except DomainError as exc:
            flash.error(request, exc.for_people())
        return redirect("loyalty:event", pk=event.pk)
    registration = event.registrations.filter(customer=customer).first()
    return render(request, "loyalty/check_in.html", {
        "event": event, "customer": customer, "registration": registration})


@require_POST
def member_event(request: HttpRequest, token: str, pk: int) -> HttpResponse:
    """The member registers for an event, or cancels, from their own page."""
    customer = _member(token)
    event = get_object_or_404(MemberEvent, pk=pk)
    try:
        if request.POST.get("what") == "cancel":
            events.registration_cancel(actor=None, event=event, customer=customer)
            outcome = _("Your registration is cancelled.")
        else:
            registration = events.event_register(actor=None, event=event, customer=customer,
                                                 source="member")
            outcome = (_("The event is full: you are on the waiting list, and we will let "
                         "you know when a place frees up.")
                       if registration.state == "waiting"
                       else _("You are registered. Show the QR code at the door."))
    except DomainError as exc:
        outcome = exc.for_people()
    return member_page(request, token, outcome=outcome)
