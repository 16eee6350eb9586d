"""Loyalty's tables: the programme and its tiers, members, the double-entry points
ledger (journals of balanced entries, lots with an expiry date and what consumed them),
earn rules, reservations, idempotent request records, coupons and the rewards
catalogue."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.customers.models import Customer, Order


class Qualify(models.TextChoices):
    POINTS = "points", _("Points earned")
    SPEND = "spend", _("Amount spent")


class Programme(models.Model):
    """The loyalty programme's settings (one row)."""

    name = models.CharField(_("name"), max_length=80, default="")
    points_per_unit = models.DecimalField(
        _("points per unit of currency spent"), max_digits=8, decimal_places=3, default=1)
    expiry_days = models.PositiveIntegerField(
        _("points expire after (days)"), default=730,
        help_text=_("0: points never expire."))
    qualify_on = models.CharField(_("tiers qualify on"), max_length=10,
                                  choices=Qualify.choices, default=Qualify.POINTS)
    qualify_months = models.PositiveSmallIntegerField(_("qualifying period (months)"),
                                                      default=12)
    grace_days = models.PositiveIntegerField(_("grace before a downgrade (days)"),
                                             default=30)
    cap_per_order = models.PositiveIntegerField(_("most points per order"), default=0,
                                                help_text=_("0: no cap."))
    cap_per_day = models.PositiveIntegerField(_("most points per member per day"),
                                              default=0, help_text=_("0: no cap."))
    allow_negative = models.BooleanField(
        _("a refund may make a balance negative"), default=False,
        help_text=_("Otherwise points already spent are recorded as a debt that later "
                    "earnings pay off."))
    approval_above = models.PositiveIntegerField(
        _("manual adjustments above this need a second person"), default=1000)
    reservation_minutes = models.PositiveIntegerField(_("reservations expire after (minutes)"),
                                                      default=15)
    referrer_points = models.PositiveIntegerField(_("points for the referrer"), default=200)
    referee_points = models.PositiveIntegerField(_("points for the referred friend"),
                                                 default=100)
    action_points = models.JSONField(
        _("points for actions"), default=dict, blank=True,
        help_text=_("Action to points, e.g. review, sign_in, event, referral."))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("loyalty programme")
        verbose_name_plural = _("loyalty programme")

    def __str__(self) -> str:
        return self.name or "loyalty"


class Tier(models.Model):
    """A membership level reached by points earned (or spend) in the qualifying period."""

    name = models.CharField(_("name"), max_length=40, unique=True)
    threshold = models.DecimalField(_("qualifies from"), max_digits=14, decimal_places=2,
                                    default=0)
    multiplier = models.DecimalField(_("earn multiplier"), max_digits=5, decimal_places=2,
                                     default=1)
    birthday_points = models.PositiveIntegerField(_("birthday points"), default=0)
    benefits = models.TextField(_("benefits"), blank=True)

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = ["threshold", "pk"]

    def __str__(self) -> str:
        return self.name


class Member(models.Model):
    """A customer in the programme: tier and the points balance (the sum of the member's
    ledger entries, kept in the same transaction as each entry)."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE,
                                    related_name="membership", verbose_name=_("customer"))
    tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="members", verbose_name=_("tier"))
    tier_since = models.DateTimeField(_("tier since"), default=timezone.now)
    downgrade_after = models.DateTimeField(_("downgrade after"), null=True, blank=True)
    balance = models.BigIntegerField(_("points"), default=0)
    reserved = models.BigIntegerField(_("reserved points"), default=0)
    debt = models.BigIntegerField(_("points owed"), default=0)
    joined_at = models.DateTimeField(_("joined"), default=timezone.now)
    referral_code = models.CharField(_("referral code"), max_length=12, null=True,
                                     blank=True, unique=True)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        constraints = [
            models.CheckConstraint(condition=Q(reserved__gte=0) & Q(debt__gte=0),
                                   name="loyalty_member_reserved_debt_positive"),
        ]

    def __str__(self) -> str:
        return str(self.customer_id)


class Account(models.TextChoices):
    MEMBER = "member", _("Customer points")
    RESERVED = "reserved", _("Reserved points")
    DEBT = "debt", _("Points owed")
    LIABILITY = "liability", _("Points liability")
    REDEEMED = "redeemed", _("Redeemed")
    EXPIRED = "expired", _("Expired")


class JournalKind(models.TextChoices):
    EARN = "earn", _("Earned")
    AWARD = "award", _("Awarded")
    ADJUST = "adjust", _("Adjusted")
    REDEEM = "redeem", _("Redeemed")
    RESERVE = "reserve", _("Reserved")
    COMMIT = "commit", _("Reservation used")
    RELEASE = "release", _("Reservation released")
    REVERSE = "reverse", _("Reversed")
    EXPIRE = "expire", _("Expired")


class Journal(models.Model):
    """One movement of points: balanced entries (they sum to zero)."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="journals")
    kind = models.CharField(max_length=10, choices=JournalKind.choices)
    points = models.BigIntegerField(default=0)  # the member's change, for lists
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    reason = models.CharField(max_length=200, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["member", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.points}"


class Entry(models.Model):
    """One side of a journal: points into (positive) or out of (negative) an account."""

    journal = models.ForeignKey(Journal, on_delete=models.CASCADE, related_name="entries")
    account = models.CharField(max_length=10, choices=Account.choices)
    member = models.ForeignKey(Member, null=True, blank=True, on_delete=models.CASCADE,
                               related_name="+")
    points = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["member", "account"])]

    def __str__(self) -> str:
        return f"{self.account} {self.points}"


class Lot(models.Model):
    """Points earned together, with the date they expire; redemptions take from the lots
    that expire first."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="lots")
    journal = models.ForeignKey(Journal, on_delete=models.CASCADE, related_name="lots")
    points = models.BigIntegerField()
    remaining = models.BigIntegerField()
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["member", "expires_at"]),
                   models.Index(fields=["expires_at"], condition=Q(remaining__gt=0),
                                name="loyalty_lot_open_expiry")]
        constraints = [models.CheckConstraint(
            condition=Q(remaining__gte=0) & Q(remaining__lte=models.F("points")),
            name="loyalty_lot_remaining_in_range")]

    def __str__(self) -> str:
        return f"{self.remaining}/{self.points}"


class LotUse(models.Model):
    """Points a journal took from a lot (given back when a reservation is released or a
    redemption reversed)."""

    journal = models.ForeignKey(Journal, on_delete=models.CASCADE, related_name="uses")
    lot = models.ForeignKey(Lot, on_delete=models.CASCADE, related_name="uses")
    points = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.lot_id}: {self.points}"


class OrderPoints(models.Model):
    """What an order earned (once per order) and how much of it was reversed."""

    order = models.OneToOneField(Order, primary_key=True, on_delete=models.CASCADE,
                                 related_name="+")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    points = models.BigIntegerField()
    reversed = models.BigIntegerField(default=0)
    refunded_amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)

    def __str__(self) -> str:
        return f"{self.order_id}: {self.points}"


class RuleKind(models.TextChoices):
    CATEGORY = "category", _("Category multiplier")
    PRODUCT = "product", _("Product multiplier")
    CAMPAIGN = "campaign", _("Campaign period")


class EarnRule(models.Model):
    """A multiplier on the points of matching order lines, optionally in a period."""

    name = models.CharField(_("name"), max_length=80)
    kind = models.CharField(_("kind"), max_length=10, choices=RuleKind.choices)
    match = models.CharField(_("category or SKU"), max_length=100, blank=True)
    multiplier = models.DecimalField(_("multiplier"), max_digits=5, decimal_places=2,
                                     default=2)
    starts_at = models.DateTimeField(_("from"), null=True, blank=True)
    ends_at = models.DateTimeField(_("until"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("earn rule")
        verbose_name_plural = _("earn rules")

    def __str__(self) -> str:
        return self.name


class Reservation(models.Model):
    """Points held for a payment at a POS or shop until committed, released or expired."""

    class State(models.TextChoices):
        HELD = "held", _("Held")
        COMMITTED = "committed", _("Committed")
        RELEASED = "released", _("Released")
        EXPIRED = "expired", _("Expired")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="reservations")
    points = models.BigIntegerField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.HELD)
    journal = models.ForeignKey(Journal, on_delete=models.CASCADE, related_name="+")
    reference = models.CharField(max_length=100, blank=True)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["expires_at"], condition=Q(state="held"),
                                name="loyalty_reservation_held")]

    def __str__(self) -> str:
        return f"{self.points} {self.state}"


class RequestRecord(models.Model):
    """A write request's idempotency key and its answer: repeating the key replays it."""

    key = models.CharField(max_length=200, unique=True)
    fingerprint = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    body = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return self.key


class PendingAdjustment(models.Model):
    """A large manual adjustment waiting for a second person's approval."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    points = models.BigIntegerField()
    reason = models.CharField(max_length=200)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                     on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    approved = models.BooleanField(null=True)
    journal = models.ForeignKey(Journal, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")

    def __str__(self) -> str:
        return f"{self.points} ({self.reason})"


class CouponKind(models.TextChoices):
    AMOUNT = "amount", _("Amount off")
    PERCENT = "percent", _("Percent off")
    GIFT = "gift", _("Gift")
    SHIPPING = "shipping", _("Free shipping")


class CouponTemplate(models.Model):
    """What a coupon gives and under which conditions; coupons are issued from it."""

    name = models.CharField(_("name"), max_length=80)
    kind = models.CharField(_("kind"), max_length=10, choices=CouponKind.choices)
    value = models.DecimalField(_("value"), max_digits=12, decimal_places=2, default=0,
                                help_text=_("Amount off, or percent off."))
    cap = models.DecimalField(_("largest discount"), max_digits=12, decimal_places=2,
                              default=0, help_text=_("0: no cap (percent off)."))
    gift = models.CharField(_("gift"), max_length=100, blank=True)
    min_spend = models.DecimalField(_("minimum spend"), max_digits=12, decimal_places=2,
                                    default=0)
    skus = models.TextField(_("only these SKUs"), blank=True,
                            help_text=_("One per line; empty: any."))
    categories = models.TextField(_("only these categories"), blank=True,
                                  help_text=_("One per line; empty: any."))
    valid_days = models.PositiveIntegerField(_("valid for (days after issue)"), default=30)
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    per_customer = models.PositiveIntegerField(_("most per customer"), default=1,
                                               help_text=_("0: no limit."))
    stackable = models.BooleanField(_("combines with other coupons"), default=False)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("coupon template")
        verbose_name_plural = _("coupon templates")

    def __str__(self) -> str:
        return self.name


class Coupon(models.Model):
    """One coupon code, issued to a customer (or unassigned, from a batch)."""

    class State(models.TextChoices):
        ISSUED = "issued", _("Issued")
        REDEEMED = "redeemed", _("Redeemed")
        VOID = "void", _("Void")

    template = models.ForeignKey(CouponTemplate, on_delete=models.PROTECT,
                                 related_name="coupons")
    code = models.CharField(max_length=20, unique=True)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="coupons")
    state = models.CharField(max_length=10, choices=State.choices, default=State.ISSUED)
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField()
    issued_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=100, blank=True)
    # what issued it, once: an automation step, a reward redemption, a draw
    issue_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    redeemed_at = models.DateTimeField(null=True, blank=True)
    order_ref = models.CharField(max_length=100, blank=True)
    discount = models.DecimalField(max_digits=12, decimal_places=2, default=0)

    class Meta:
        indexes = [models.Index(fields=["customer", "state"])]

    def __str__(self) -> str:
        return self.code


class Reward(models.Model):
    """Something in the rewards catalogue that members take for points."""

    name = models.CharField(_("name"), max_length=100)
    points = models.PositiveIntegerField(_("points"))
    coupon = models.ForeignKey(CouponTemplate, null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("coupon"),
                               help_text=_("Empty: a gift handed over in person."))
    stock = models.PositiveIntegerField(_("in stock"), null=True, blank=True,
                                        help_text=_("Empty: unlimited."))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("reward")
        verbose_name_plural = _("rewards")

    def __str__(self) -> str:
        return self.name


class Referral(models.Model):
    """A friend a member brought in: both are rewarded after the friend's first paid
    order, unless a guard found them to be the same person or household."""

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for the first paid order")
        REWARDED = "rewarded", _("Rewarded")
        REJECTED = "rejected", _("Rejected")

    referrer = models.ForeignKey(Customer, on_delete=models.CASCADE,
                                 related_name="referrals_made")
    referee = models.OneToOneField(Customer, on_delete=models.CASCADE,
                                   related_name="referred_by")
    class Reason(models.TextChoices):
        SELF = "self", _("the member themselves")
        SAME_PHONE = "same_phone", _("same phone as the referrer")
        SAME_ADDRESS = "same_address", _("same address as the referrer")
        SAME_PAYMENT = "same_payment", _("same payment account as the referrer")

    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    reason = models.CharField(max_length=40, blank=True, choices=Reason.choices)
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    rewarded_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.referrer_id} → {self.referee_id}"


class Draw(models.Model):
    """A points lottery (积分抽奖): tickets cost points, prizes by published odds while
    stocks last; the seed is committed (its SHA-256 published) before the draw opens and
    revealed when it closes."""

    name = models.CharField(_("name"), max_length=100)
    cost = models.PositiveIntegerField(_("points per draw"))
    per_member = models.PositiveIntegerField(_("draws per member"), default=10)
    starts_at = models.DateTimeField(_("opens"))
    ends_at = models.DateTimeField(_("closes"))
    seed = models.CharField(max_length=64)
    commitment = models.CharField(max_length=64)
    tickets = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("points lottery")
        verbose_name_plural = _("points lotteries")

    def __str__(self) -> str:
        return self.name


class Prize(models.Model):
    """One line of a lottery's prize table."""

    draw = models.ForeignKey(Draw, on_delete=models.CASCADE, related_name="prizes")
    position = models.PositiveSmallIntegerField(default=0)
    name = models.CharField(_("name"), max_length=100)
    weight = models.PositiveIntegerField(_("weight"))
    stock = models.PositiveIntegerField(_("stock"), null=True, blank=True)
    points = models.PositiveIntegerField(_("points won"), default=0)
    coupon = models.ForeignKey(CouponTemplate, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+")
    value = models.DecimalField(_("worth (yuan)"), max_digits=10, decimal_places=2,
                                default=0)
    won = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["draw", "position"]

    def __str__(self) -> str:
        return self.name


class Ticket(models.Model):
    """One draw by a member: its number in the lottery and what it won."""

    draw = models.ForeignKey(Draw, on_delete=models.CASCADE, related_name="+")
    seq = models.PositiveIntegerField()
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    prize = models.ForeignKey(Prize, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["draw", "seq"],
                                               name="loyalty_ticket_seq")]
        indexes = [models.Index(fields=["draw", "customer"])]

    def __str__(self) -> str:
        return f"{self.draw_id}#{self.seq}"


class MemberEvent(models.Model):
    """A member event (会员活动): a tasting, a class, a store opening. Members register
    (staff register them, or they do it from their page) up to the capacity; later ones
    wait in line and move up when someone cancels; at the door a QR code checks them in,
    which puts the attendance on the timeline and earns the event's points."""

    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    location = models.CharField(_("place"), max_length=200, blank=True)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    capacity = models.PositiveIntegerField(_("places"), validators=[MinValueValidator(1)])
    points = models.PositiveIntegerField(_("points for attending"), default=0)
    open_to_members = models.BooleanField(
        _("members can register themselves"), default=True,
        help_text=_("On their member page, until the event starts."))
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("member event")
        verbose_name_plural = _("member events")
        ordering = ["-starts_at"]

    def __str__(self) -> str:
        return self.name


class Registration(models.Model):
    """One member's place at an event, or their place in the waiting line (by when they
    registered)."""

    class State(models.TextChoices):
        REGISTERED = "registered", _("Registered")
        WAITING = "waiting", _("On the waiting list")
        ATTENDED = "attended", _("Attended")
        CANCELLED = "cancelled", _("Cancelled")

    class Source(models.TextChoices):
        STAFF = "staff", _("Staff")
        MEMBER = "member", _("The member")
        API = "api", _("API")

    event = models.ForeignKey(MemberEvent, on_delete=models.PROTECT,
                              related_name="registrations")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(_("state"), max_length=10, choices=State.choices)
    source = models.CharField(_("registered by"), max_length=10, choices=Source.choices)
    queued_at = models.DateTimeField(default=timezone.now)
    checked_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "customer"],
                                               name="loyalty_registration_once")]
        indexes = [models.Index(fields=["event", "state", "queued_at"]),
                   models.Index(fields=["customer", "state"])]

    def __str__(self) -> str:
        return f"{self.event_id}:{self.customer_id}"
