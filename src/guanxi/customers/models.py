from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.core.models import TimeStampedModel


class MaskedWriteGuard:
    """Instances masked for an analyst's eyes must never be written back."""

    def save(self, *args, **kwargs):
        if getattr(self, "_masked", False):
            raise RuntimeError("refusing to save a masked instance")
        super().save(*args, **kwargs)  # type: ignore[misc]


class Gender(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    OTHER = "other", _("Other")
    UNKNOWN = "unknown", _("Not specified")


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat")
    PUSH = "push", _("App push")
    PHONE = "phone", _("Phone")
    POST = "post", _("Post")


class Source(models.TextChoices):
    WEB = "web", _("Website")
    APP = "app", _("App")
    SHOP = "shop", _("Online shop")
    POS = "pos", _("Store (POS)")
    WECHAT = "wechat", _("WeChat")
    PHONE = "phone", _("Phone")
    REFERRAL = "referral", _("Referral")
    IMPORT = "import", _("Import")
    API = "api", _("API")
    OTHER = "other", _("Other")


class Language(models.TextChoices):
    ZH_HANS = "zh-hans", _("Simplified Chinese")
    EN = "en", _("English")


class Company(TimeStampedModel):
    """A business account that customers can belong to."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    website = models.URLField(_("website"), blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True,
                              blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")

    def __str__(self) -> str:
        return self.name


class Customer(MaskedWriteGuard, TimeStampedModel):
    """A person the business has a relationship with."""

    family_name = models.CharField(_("family name"), max_length=100, blank=True)
    given_name = models.CharField(_("given name"), max_length=100, blank=True)
    display_name = models.CharField(_("display name"), max_length=200)
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices,
                              default=Gender.UNKNOWN)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    lunar_birthday = models.BooleanField(
        _("celebrates the lunar birthday"), default=False,
        help_text=_("The birthday is celebrated on its date in the Chinese lunar calendar."))
    region = models.CharField(_("region"), max_length=100, blank=True, db_index=True)
    # The division code of `region` (customers.regions), kept by every write of it.
    region_code = models.CharField(_("region code"), max_length=6, blank=True, default="",
                                   db_default="", db_index=True, editable=False)
    occupation = models.CharField(_("occupation"), max_length=100, blank=True)
    preferred_language = models.CharField(_("preferred language"), max_length=10,
                                          choices=Language.choices, default=Language.ZH_HANS)
    preferred_channel = models.CharField(_("preferred channel"), max_length=10,
                                         choices=Channel.choices, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True,
                              blank=True, on_delete=models.SET_NULL,
                              related_name="owned_customers")
    company = models.ForeignKey(Company, verbose_name=_("company"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="customers")
    source = models.CharField(_("source"), max_length=20, choices=Source.choices,
                              default=Source.OTHER)
    attributes = models.JSONField(_("custom attributes"), default=dict, blank=True)
    # Raised by every profile write: a client that read version N may write only while it
    # is still N (If-Match on the API, a hidden field in the form), or it would overwrite
    # changes it never saw.
    version = models.PositiveIntegerField(default=1, db_default=1, editable=False)
    # Set when the person's data was erased (PIPL): the row stays, without personal data,
    # so orders and counts still add up in the KPIs; lists and search leave it out.
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        # (column, id) pairs: the list's sort orders page through an index at any depth;
        indexes = [models.Index(fields=["owner", "-id"]),
                   models.Index(fields=["display_name", "id"], name="customer_name_id"),
                   models.Index(fields=["region", "id"], name="customer_region_id"),
                   # The daily birthday scan of automations looks dates up by value.
                   models.Index(fields=["birthday"], name="customer_birthday"),
                   # The few erased customers, so a list's total is an index count minus
                   # them rather than a scan of every row for erased_at IS NULL.
                   models.Index(fields=["erased_at"], name="customer_erased",
                                condition=models.Q(erased_at__isnull=False))]

    def __str__(self) -> str:
        return self.display_name


class IdentityKind(models.TextChoices):
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    WECHAT_OPENID = "wechat_openid", _("WeChat OpenID")
    WECHAT_UNIONID = "wechat_unionid", _("WeChat UnionID")
    EXTERNAL = "external", _("External ID")


class Identity(MaskedWriteGuard, models.Model):
    """A way to recognise a customer: email, phone, WeChat id or another system's id."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(_("kind"), max_length=20, choices=IdentityKind.choices)
    # For external ids the source system (shop, pos, app...); for WeChat openids the app id.
    system = models.CharField(_("system"), max_length=40, blank=True, default="")
    value = models.CharField(_("value"), max_length=200)
    verified = models.BooleanField(_("verified"), default=False)
    is_primary = models.BooleanField(_("primary"), default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("identity")
        verbose_name_plural = _("identities")
        constraints = [
            models.UniqueConstraint(fields=["kind", "system", "value"],
                                    name="identity_unique_value"),
        ]
        indexes = [models.Index(fields=["customer", "kind"])]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class Address(models.Model):
    """A postal address of a customer."""

    class Kind(models.TextChoices):
        HOME = "home", _("Home")
        WORK = "work", _("Work")
        SHIPPING = "shipping", _("Shipping")
        BILLING = "billing", _("Billing")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.HOME)
    country = models.CharField(_("country"), max_length=2, default="CN")
    province = models.CharField(_("province"), max_length=60, blank=True)
    city = models.CharField(_("city"), max_length=60, blank=True)
    district = models.CharField(_("district"), max_length=60, blank=True)
    street = models.CharField(_("street"), max_length=200, blank=True)
    postcode = models.CharField(_("postcode"), max_length=20, blank=True)
    is_primary = models.BooleanField(_("primary"), default=False)

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")

    def __str__(self) -> str:
        return " ".join(p for p in (self.province, self.city, self.district, self.street) if p)


class Tag(models.Model):
    """A label staff put on customers."""

    name = models.CharField(_("name"), max_length=50, unique=True)
    color = models.CharField(_("colour"), max_length=7, default="#6c757d")

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CustomerTag(models.Model):
    """A tag on a customer, with who put it there."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="tag_links")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="customer_links")
    added_at = models.DateTimeField(default=timezone.now)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "tag"],
                                               name="customertag_unique")]
        indexes = [models.Index(fields=["tag", "customer"])]

    def __str__(self) -> str:
        return f"{self.customer_id}:{self.tag_id}"


class ConsentPurpose(models.TextChoices):
    MARKETING = "marketing", _("Marketing")
    SERVICE = "service", _("Service messages")
    SURVEYS = "surveys", _("Surveys")


class Consent(models.Model):
    """The customer's current yes/no for one channel and purpose; history is on the timeline."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    purpose = models.CharField(_("purpose"), max_length=20, choices=ConsentPurpose.choices)
    granted = models.BooleanField(_("granted"), default=False)
    changed_at = models.DateTimeField(_("changed"), default=timezone.now)
    source = models.CharField(_("source"), max_length=60, blank=True)
    # Which privacy notice (its version) the answer was given to, e.g. "2026-03".
    notice = models.CharField(_("notice version"), max_length=60, blank=True, default="",
                              db_default="")
    proof = models.TextField(_("proof"), blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [models.UniqueConstraint(fields=["customer", "channel", "purpose"],
                                               name="consent_unique")]

    def __str__(self) -> str:
        return f"{self.channel}/{self.purpose}: {'yes' if self.granted else 'no'}"


class SearchTerm(models.Model):
    """One key under which a customer is found by the search box (see search.py)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    term = models.CharField(max_length=200)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["term", "customer"],
                                               name="searchterm_unique")]
        indexes = [models.Index(fields=["customer"], name="searchterm_customer")]

    def __str__(self) -> str:
        return self.term


class Product(TimeStampedModel):
    """Something the business sells."""

    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    category = models.CharField(_("category"), max_length=100, blank=True, db_index=True)
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"


class OrderStatus(models.TextChoices):
    PAID = "paid", _("Paid")
    REFUNDED = "refunded", _("Refunded")
    CANCELLED = "cancelled", _("Cancelled")


class SalesChannel(models.TextChoices):
    WEB = "web", _("Website")
    APP = "app", _("App")
    SHOP = "shop", _("Online shop")
    POS = "pos", _("Store (POS)")
    WECHAT = "wechat", _("WeChat")
    PHONE = "phone", _("Phone")
    OTHER = "other", _("Other")


class Order(TimeStampedModel):
    """A purchase by a customer."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="orders")
    external_id = models.CharField(_("external id"), max_length=100, blank=True)
    channel = models.CharField(_("channel"), max_length=10, choices=SalesChannel.choices,
                               default=SalesChannel.OTHER)
    store = models.CharField(_("store"), max_length=100, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    status = models.CharField(_("status"), max_length=10, choices=OrderStatus.choices,
                              default=OrderStatus.PAID)
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2)
    placed_at = models.DateTimeField(_("placed"), default=timezone.now)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [models.Index(fields=["customer", "-placed_at"])]
        constraints = [
            models.UniqueConstraint(fields=["channel", "external_id"],
                                    condition=~Q(external_id=""), name="order_external_unique"),
        ]

    def __str__(self) -> str:
        return self.external_id or f"#{self.pk}"


class OrderLine(models.Model):
    """One product line of an order."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    sku = models.CharField(_("SKU"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2)
    line_total = models.DecimalField(_("line total"), max_digits=14, decimal_places=2)

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku}"


class Event(models.Model):
    """One thing that happened to a customer: the rows of the timeline."""

    # No separate index on customer: the timeline index starts with it.
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="events",
                                 db_index=False)
    kind = models.CharField(_("kind"), max_length=64)
    occurred_at = models.DateTimeField(_("when"))
    recorded_at = models.DateTimeField(default=timezone.now)
    channel = models.CharField(_("channel"), max_length=20, blank=True)
    source = models.CharField(_("source"), max_length=40, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    summary = models.CharField(_("summary"), max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="events")
    idempotency_key = models.CharField(max_length=100, null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        indexes = [
            models.Index(fields=["customer", "-occurred_at", "-id"], name="event_timeline"),
            models.Index(fields=["kind", "occurred_at"], name="event_kind_time"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} @ {self.occurred_at:%Y-%m-%d}"


class FollowUp(models.Model):
    """A promise to get back to a customer on a day ("call again on Friday"), set when an
    interaction is logged; shown on the home page of the person it is assigned to and on
    the customer's page until it is done."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="follow_ups")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("assigned to"),
                                 null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="follow_ups")
    due_on = models.DateField(_("due"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        indexes = [models.Index(fields=["assignee", "done_at", "due_on"]),
                   models.Index(fields=["customer", "done_at"])]

    def __str__(self) -> str:
        return f"{self.customer_id}@{self.due_on}"


class RecentView(models.Model):
    """When a staff member last opened a customer's page (their "recently viewed")."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    viewed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "customer"],
                                               name="recentview_unique")]
        indexes = [models.Index(fields=["user", "-viewed_at"])]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.customer_id}"
