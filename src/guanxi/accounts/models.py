from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from guanxi.core.permissions import Role


class Team(models.Model):
    """A group of staff who share the customers they own."""

    name = models.CharField(_("name"), max_length=100, unique=True)

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A staff member who signs in to Guanxi."""

    role = models.CharField(_("role"), max_length=20, choices=Role.choices, blank=True)
    team = models.ForeignKey(Team, verbose_name=_("team"), null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="members")
    # Part of every session's check: raising it ends the user's other sessions ("sign out
    # everywhere") without changing the password.
    session_epoch = models.PositiveIntegerField(default=0, db_default=0, editable=False)

    class Meta:
        verbose_name = _("staff user")
        verbose_name_plural = _("staff users")

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def get_full_name(self) -> str:
        """The name staff know each other by: 王芳 (family name first, no space) for
        Chinese names, "Lena Müller" otherwise."""
        first, last = self.first_name.strip(), self.last_name.strip()
        if any("\u2e80" <= ch <= "\u9fff" for ch in first + last):
            return f"{last}{first}"
        return f"{first} {last}".strip()

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        key_salt = "guanxi.accounts.User.session"
        return salted_hmac(key_salt, f"{self.password}:{self.session_epoch}", secret=secret,
                           algorithm="sha256").hexdigest()


class RolePolicy(models.Model):
    """Sign-in rules for the staff of one role, set by administrators."""

    role = models.CharField(_("role"), max_length=20, choices=Role.choices, unique=True)
    require_two_factor = models.BooleanField(
        _("require two-factor sign-in"), default=False,
        help_text=_("Staff with this role must set up an authenticator app and enter its "
                    "code at every sign-in."))

    class Meta:
        verbose_name = _("role sign-in policy")
        verbose_name_plural = _("role sign-in policies")
        ordering = ["role"]

    def __str__(self) -> str:
        return str(self.get_role_display())


class ApiToken(models.Model):
    """A bearer token for the REST API, stored only as a hash."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    # "read", "write" (all apps) or "<app>:read", "<app>:write"; write includes read.
    scopes = models.JSONField(_("scopes"), default=list, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    def allows(self, app: str, write: bool) -> bool:
        """Whether the token's scopes allow reading (or writing, if `write`) `app`'s API."""
        scopes = set(self.scopes or ())
        if "write" in scopes or f"{app}:write" in scopes:
            return True
        return not write and bool({"read", f"{app}:read"} & scopes)


class SavedView(models.Model):
    """A list's filters, columns, sort and page size under a name: the person's own, or
    shared with everyone who may see that list."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"),
                              on_delete=models.CASCADE, related_name="saved_views")
    list_name = models.CharField(_("list"), max_length=40)
    name = models.CharField(_("name"), max_length=80)
    shared = models.BooleanField(_("shared with everyone"), default=False)
    # The list's query string (only the parameters the list declares; no page cursor).
    query = models.CharField(_("query"), max_length=2000, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        constraints = [models.UniqueConstraint(fields=["owner", "list_name", "name"],
                                               name="savedview_unique_name")]
        indexes = [models.Index(fields=["list_name", "shared"])]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
