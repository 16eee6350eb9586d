"""Messages to customers: how each channel is sent (its provider and limits), templates per
channel and language, the send policy's settings, the suppression list, and the outbox —
one row per message, whatever sent it (a campaign, an automation step, a member of staff)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.customers.models import Customer


class MessageChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat")
    PUSH = "push", _("App push")


class Purpose(models.TextChoices):
    """Why a message is sent. Marketing, service and survey messages need the customer's
    consent for the channel and purpose; transactional ones (an order confirmation, a
    password code) need none and are not counted against frequency caps."""

    MARKETING = "marketing", _("Marketing")
    SERVICE = "service", _("Service messages")
    SURVEYS = "surveys", _("Surveys")
    TRANSACTIONAL = "transactional", _("Transactional")


class ChannelSetup(models.Model):
    """How one channel is sent: the provider (see engagement.providers), its settings and
    secrets, how fast it may be called, and the channel's quiet hours."""

    channel = models.CharField(_("channel"), max_length=10, choices=MessageChannel.choices,
                               unique=True)
    provider = models.CharField(_("provider"), max_length=30)
    config = models.JSONField(_("settings"), default=dict, blank=True)
    active = models.BooleanField(_("active"), default=True)
    rate_per_second = models.PositiveIntegerField(_("messages per second at most"),
                                                  default=50)
    # Quiet hours in the customer's time zone: a message due inside them waits for their
    # end. Start == end: none.
    quiet_start = models.TimeField(_("quiet hours from"), default="21:00")
    quiet_end = models.TimeField(_("quiet hours until"), default="08:00")
    # The rate limit's next free moment (a Unix time), shared by all workers.
    next_slot = models.FloatField(default=0.0, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("channel")
        verbose_name_plural = _("channels")
        ordering = ["channel"]

    def __str__(self) -> str:
        return f"{self.channel}: {self.provider}"


class Policy(models.Model):
    """The send policy's settings (one row): the frequency cap across channels."""

    cap_messages = models.PositiveIntegerField(
        _("marketing messages at most"), default=2,
        help_text=_("Per customer, across all channels, in the window below (0: no cap)."))
    cap_days = models.PositiveIntegerField(_("window (days)"), default=7)
    default_language = models.CharField(_("default language"), max_length=10,
                                        default="zh-hans")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("send policy")
        verbose_name_plural = _("send policy")

    def __str__(self) -> str:
        return f"≤ {self.cap_messages} / {self.cap_days} d"


class Template(models.Model):
    """A message: per channel, with a text per language (TemplateText)."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    channel = models.CharField(_("channel"), max_length=10, choices=MessageChannel.choices)
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices,
                               default=Purpose.MARKETING)
    # The provider's own template (an SMS template code such as SMS_123, a WeChat
    # template id): the rendered variables are passed to it.
    provider_template = models.CharField(_("provider template id"), max_length=100,
                                         blank=True)
    archived = models.BooleanField(_("archived"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("template")
        verbose_name_plural = _("templates")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TemplateText(models.Model):
    template = models.ForeignKey(Template, on_delete=models.CASCADE, related_name="texts")
    language = models.CharField(_("language"), max_length=10)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    html = models.TextField(_("HTML"), blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["template", "language"],
                                               name="templatetext_unique")]

    def __str__(self) -> str:
        return f"{self.template_id}/{self.language}"


class SuppressionReason(models.TextChoices):
    HARD_BOUNCE = "hard_bounce", _("Hard bounce")
    COMPLAINT = "complaint", _("Marked as spam")
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
    INVALID = "invalid", _("Invalid address")
    MANUAL = "manual", _("Added by staff")


# Reasons that stop only marketing and survey messages; the others stop every message.
MARKETING_ONLY = frozenset({SuppressionReason.COMPLAINT, SuppressionReason.UNSUBSCRIBED})


class Suppression(models.Model):
    """An address nothing more is sent to (or, for complaints and unsubscribes, no more
    marketing)."""

    channel = models.CharField(_("channel"), max_length=10, choices=MessageChannel.choices)
    address = models.CharField(_("address"), max_length=200)
    reason = models.CharField(_("reason"), max_length=20, choices=SuppressionReason.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("since"), default=timezone.now)

    class Meta:
        verbose_name = _("suppressed address")
        verbose_name_plural = _("suppression list")
        constraints = [models.UniqueConstraint(fields=["channel", "address"],
                                               name="suppression_unique")]

    def __str__(self) -> str:
        return f"{self.channel}:{self.address}"


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    HELD = "held", _("Held for quiet hours")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    BOUNCED = "bounced", _("Bounced")
    NOT_SENT = "not_sent", _("Not sent")
    CANCELLED = "cancelled", _("Cancelled")


# A message in one of these has left Guanxi (or tried to): it counts against the cap.
OUT = (MessageStatus.SENDING, MessageStatus.SENT, MessageStatus.DELIVERED,
       MessageStatus.BOUNCED)
PENDING = (MessageStatus.QUEUED, MessageStatus.HELD)


# Why a message was not sent (Message.reason): shown on the 360 page and in reports.
REASONS = {
    "erased": _("The customer's data was erased"),
    "no_address": _("No address on this channel"),
    "no_consent": _("No consent for this channel and purpose"),
    "suppressed": _("The address is on the suppression list"),
    "frequency_cap": _("Frequency cap reached"),
    "channel_off": _("The channel is not set up"),
    "cancelled": _("Cancelled"),
    "template": _("The template could not be rendered"),
    "quiet_hours": _("Waiting for the end of quiet hours"),
    "invalid": _("The provider says the address does not exist"),
    "gave_up": _("The provider kept failing; gave up"),
}


class Message(models.Model):
    """One message to one customer on one channel. `key` is unique: one message per
    (campaign or automation step, customer, channel) ever, and the idempotency key handed
    to the provider (and, for email, the Message-ID)."""

    key = models.CharField(max_length=120, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(_("channel"), max_length=10, choices=MessageChannel.choices)
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    template = models.ForeignKey(Template, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    # Where it came from: "campaign" (origin_id: the campaign, variant: A/B/…),
    # "automation" (origin_id: the automation version, variant: the step), "staff".
    origin = models.CharField(max_length=20)
    origin_id = models.BigIntegerField(null=True, blank=True)
    variant = models.CharField(max_length=20, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=MessageStatus.choices,
                              default=MessageStatus.QUEUED)
    reason = models.CharField(_("reason"), max_length=40, blank=True)
    detail = models.CharField(max_length=300, blank=True)
    due_at = models.DateTimeField(_("due"), default=timezone.now)
    # What was sent, rendered at dispatch (the customer's data of that moment).
    address = models.CharField(max_length=200, blank=True)
    language = models.CharField(max_length=10, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    provider = models.CharField(max_length=30, blank=True)
    provider_id = models.CharField(max_length=120, blank=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        indexes = [models.Index(fields=["customer", "-id"], name="message_customer"),
                   models.Index(fields=["customer", "purpose", "sent_at"],
                                name="message_cap"),
                   models.Index(fields=["origin", "origin_id"], name="message_origin")]

    def __str__(self) -> str:
        return self.key

    @property
    def reason_label(self) -> str:
        return str(REASONS.get(self.reason, self.reason))


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    CANCELLED = "cancelled", _("Cancelled")


class WinnerMetric(models.TextChoices):
    NONE = "", _("No test: every variant to its share")
    OPEN = "open", _("Opens")
    CLICK = "click", _("Clicks")
    CONVERSION = "conversion", _("Orders (conversion)")


class Campaign(models.Model):
    """One send to a segment: variants (A/B/n) with their shares, a holdout control group
    that gets nothing, a schedule and a throttle. With a winner metric and a test share
    below 100 %, the variants go to the test share first and the winner to the rest."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    segment = models.ForeignKey("analytics.Segment", verbose_name=_("audience"),
                                on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(_("channel"), max_length=10, choices=MessageChannel.choices)
    status = models.CharField(_("status"), max_length=10, choices=CampaignStatus.choices,
                              default=CampaignStatus.DRAFT)
    scheduled_at = models.DateTimeField(_("send at"), null=True, blank=True)
    throttle_per_hour = models.PositiveIntegerField(_("messages per hour at most"), default=0,
                                                    help_text=_("0: as fast as the channel"))
    holdout_percent = models.PositiveSmallIntegerField(_("holdout (%)"), default=10)
    winner_metric = models.CharField(_("winner by"), max_length=12,
                                     choices=WinnerMetric.choices, default="", blank=True)
    test_percent = models.PositiveSmallIntegerField(_("test share (%)"), default=100)
    winner_after_hours = models.PositiveIntegerField(_("pick the winner after (hours)"),
                                                     default=4)
    conversion_days = models.PositiveSmallIntegerField(_("conversion window (days)"),
                                                       default=7)
    audience_size = models.PositiveIntegerField(default=0)
    launched_at = models.DateTimeField(null=True, blank=True)
    winner = models.CharField(max_length=10, blank=True)
    winner_p = models.FloatField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class CampaignVariant(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="variants")
    code = models.CharField(max_length=2)  # A, B, C…
    template = models.ForeignKey(Template, on_delete=models.PROTECT, related_name="+")
    share = models.PositiveSmallIntegerField(default=50)  # percent of those who get one

    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["campaign", "code"],
                                               name="campaignvariant_unique")]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.code}"


HOLDOUT = "holdout"


class CampaignRecipient(models.Model):
    """The audience as it was when the campaign was sent: who got which variant, who was
    held out (variant "holdout"), who waits for the winner (variant "")."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    variant = models.CharField(max_length=10, blank=True)
    test = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "customer"],
                                               name="campaignrecipient_unique")]
        indexes = [models.Index(fields=["campaign", "variant"], name="recipient_variant")]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.customer_id}"
