"""Outbound webhooks: endpoints other systems gave us, what each subscribes to, and every
delivery with its attempts. Inbound webhooks: the sources allowed to send us orders."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class WebhookEndpoint(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    url = models.URLField(_("URL"), max_length=500)
    # Event kinds sent to this endpoint ("*" for every kind); automation actions name the
    # endpoint themselves.
    event_kinds = models.JSONField(_("events"), default=list, blank=True)
    active = models.BooleanField(_("active"), default=True)
    # Standard Webhooks secrets ("whsec_" + base64). During a rotation both sign.
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_until = models.DateTimeField(null=True, blank=True)
    # An administrator's decision that this endpoint may be on a private network
    # (loopback, 10/8, 192.168/16 …); refused otherwise (no SSRF).
    allow_private = models.BooleanField(_("allow a private network address"), default=False)
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    RETRYING = "retrying", _("Failed, will retry")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Gave up")


class WebhookDelivery(models.Model):
    """One message to one endpoint. `message_id` is its `webhook-id`: the same on every
    attempt and replay, so a receiver that saw it already can ignore a repeat."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE,
                                 related_name="deliveries")
    message_id = models.CharField(max_length=80, unique=True)
    event_type = models.CharField(max_length=80)
    payload = models.JSONField(default=dict)
    customer_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices,
                              default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["endpoint", "-id"])]

    def __str__(self) -> str:
        return self.message_id


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE,
                                 related_name="attempt_log")
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    response = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"{self.delivery_id} @ {self.at}: {self.status_code or self.error}"


class InboundSource(models.Model):
    """A shop or system allowed to post orders and events to /hooks/<slug>."""

    class Kind(models.TextChoices):
        SHOPIFY = "shopify", "Shopify"
        WOOCOMMERCE = "woocommerce", "WooCommerce"
        GUANXI = "guanxi", _("Guanxi event format (Standard Webhooks)")

    slug = models.SlugField(_("address name"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("format"), max_length=20, choices=Kind.choices)
    secret = models.CharField(max_length=200)
    # The staff account the source's writes are recorded as (like an API token's user):
    # its permissions apply.
    acts_as = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                related_name="+")
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("inbound webhook source")
        verbose_name_plural = _("inbound webhook sources")

    def __str__(self) -> str:
        return self.name


class InboundReceipt(models.Model):
    """What a source sent, by the source's own id: the same id again is answered as
    before and changes nothing."""

    source = models.ForeignKey(InboundSource, on_delete=models.CASCADE, related_name="+")
    external_id = models.CharField(max_length=120)
    topic = models.CharField(max_length=80, blank=True)
    result = models.JSONField(default=dict)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "external_id"],
                                               name="inbound_receipt_once")]

    def __str__(self) -> str:
        return f"{self.source_id}:{self.external_id}"
