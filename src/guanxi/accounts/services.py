"""Writes for staff accounts, roles and API tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.accounts.models import ApiToken, RolePolicy, SavedView, Team, User
from guanxi.accounts.permissions import AccountAction
from guanxi.audit.services import log_action
from guanxi.core.errors import Conflict, InvalidInput
from guanxi.core.permissions import Actor, Role, effective_role, require, staff

TOKEN_PREFIX = "gx"  # noqa: S105 - a public marker, not a secret


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def user_create(*, actor: User | None, username: str, password: str | None, role: str,
                team: Team | None = None, email: str = "", is_superuser: bool = False,
                first_name: str = "", last_name: str = "") -> User:
    if actor is not None:
        require(actor, AccountAction.USER_MANAGE)
    if role and role not in Role.values:
        raise InvalidInput.single("role", _("Unknown role %(role)s") % {"role": role}, role)
    if User.objects.filter(username=username).exists():
        raise Conflict(_("A user named %(name)s already exists") % {"name": username},
                       field_name="username")
    with transaction.atomic():
        user = User(username=username, email=email, role=role, team=team,
                    first_name=first_name[:150], last_name=last_name[:150],
                    is_staff=is_superuser or role == Role.ADMIN, is_superuser=is_superuser)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        log_action(actor=actor, action="user.create", obj=user,
                   changes={"role": [None, role], "team": [None, team.name if team else None]})
    return user


def user_set_role(*, actor: User | None, user: User, role: str, team: Team | None = None) -> User:
    if actor is not None:
        require(actor, AccountAction.USER_MANAGE)
    if role and role not in Role.values:
        raise InvalidInput.single("role", f"Unknown role {role!r}", role)
    with transaction.atomic():
        old = {"role": user.role, "team": user.team.name if user.team else None}
        user.role = role
        user.team = team
        user.is_staff = user.is_superuser or role == Role.ADMIN
        user.save(update_fields=["role", "team", "is_staff"])
        new = {"role": role, "team": team.name if team else None}
        log_action(actor=actor, action="user.role_change", obj=user,
                   changes={k: [old[k], new[k]] for k in old if old[k] != new[k]})
    return user


def team_get_or_create(*, actor: User | None, name: str) -> Team:
    team, created = Team.objects.get_or_create(name=name)
    if created:
        log_action(actor=actor, action="team.create", obj=team, changes={"name": [None, name]})
    return team


DEFAULT_SCOPES = ("read", "write")


def token_scope_choices() -> list[str]:
    """Every scope a token can carry: read/write on all apps or on one app's endpoints."""
    labels = sorted(c.label for c in apps.get_app_configs() if c.name.startswith("guanxi."))
    return ["read", "write", *(f"{label}:{mode}" for label in labels
                               for mode in ("read", "write"))]


def scope_label(scope: str) -> str:
    """"customers:read" as people read it: "Customers: read only"."""
    app, _sep, mode = scope.rpartition(":")
    what = _("read only") if mode == "read" else _("read and write")
    if not app:
        return _("Everything: %(what)s") % {"what": what}
    config = next((c for c in apps.get_app_configs()
                   if c.label == app and c.name.startswith("guanxi.")), None)
    return f"{config.verbose_name if config else app}: {what}"


def _clean_scopes(scopes: Sequence[str]) -> list[str]:
    known = set(token_scope_choices())
    unknown = [s for s in scopes if s not in known]
    if unknown:
        raise InvalidInput.single("scopes", _("Unknown scope %(scope)s; use read, write, "
                                              "or <app>:read / <app>:write")
                                  % {"scope": unknown[0]}, unknown[0])
    if not scopes:
        raise InvalidInput.single("scopes", _("A token needs at least one scope"), [])
    return sorted(set(scopes))


def token_create(*, actor: User | None, user: User, name: str = "cli",
                 scopes: Sequence[str] = DEFAULT_SCOPES, days: int | None = None
                 ) -> tuple[ApiToken, str]:
    """Create a token and return it with its secret, which is shown once and never stored.
    It expires after `days` (default GUANXI_API_TOKEN_DAYS, at most
    GUANXI_API_TOKEN_MAX_DAYS)."""
    if actor is not None and actor.pk != user.pk:
        require(actor, AccountAction.USER_MANAGE)
    name = " ".join(name.split())[:100]
    if not name:
        raise InvalidInput.single("name", _("A token needs a name"), name)
    clean = _clean_scopes(scopes)
    days = settings.GUANXI_API_TOKEN_DAYS if days is None else days
    if not 1 <= days <= settings.GUANXI_API_TOKEN_MAX_DAYS:
        raise InvalidInput.single("days", _("A token lives between 1 and %(max)d days")
                                  % {"max": settings.GUANXI_API_TOKEN_MAX_DAYS}, days)
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    expires = timezone.now() + timedelta(days=days)
    with transaction.atomic():
        token = ApiToken.objects.create(user=user, name=name, prefix=prefix, scopes=clean,
                                        expires_at=expires, key_hash=_hash(secret))
        log_action(actor=actor, action="token.create", obj=token,
                   changes={"user": [None, user.username], "name": [None, name],
                            "scopes": [None, clean], "expires_at": [None, expires]})
    return token, f"{TOKEN_PREFIX}_{prefix}_{secret}"


def token_revoke(*, actor: User | None, token: ApiToken) -> None:
    if actor is not None and actor.pk != token.user_id:
        require(actor, AccountAction.USER_MANAGE)
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        log_action(actor=actor, action="token.revoke", obj=token)


def token_authenticate(raw: str) -> ApiToken | None:
    """Return the active token for a presented secret, or None."""
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    token = (ApiToken.objects.select_related("user", "user__team")
             .filter(prefix=parts[1], revoked_at__isnull=True)
             .exclude(expires_at__lte=timezone.now()).first())
    if token is None or not hmac.compare_digest(token.key_hash, _hash(parts[2])):
        return None
    if not token.user.is_active:
        return None
    now = timezone.now()
    # One write a minute at most: a write per request would serialise SQLite.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def sessions_end_others(*, user: User) -> User:
    """Sign the user out of every session but the caller's: the session check includes
    session_epoch, so raising it invalidates them (the caller re-hashes its own with
    update_session_auth_hash)."""
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(session_epoch=models.F("session_epoch") + 1)
        user.refresh_from_db(fields=["session_epoch"])
        log_action(actor=user, action="user.sessions_end", obj=user)
    return user


def role_policy_set(*, actor: User | None, role: str, require_two_factor: bool) -> RolePolicy:
    if actor is not None:
        require(actor, AccountAction.USER_MANAGE)
    if role not in Role.values:
        raise InvalidInput.single("role", f"Unknown role {role!r}", role)
    with transaction.atomic():
        policy, _created = RolePolicy.objects.select_for_update().get_or_create(role=role)
        old = policy.require_two_factor
        if old != require_two_factor:
            policy.require_two_factor = require_two_factor
            policy.save(update_fields=["require_two_factor"])
            log_action(actor=actor, action="role_policy.set", obj=policy,
                       changes={"require_two_factor": [old, require_two_factor]})
    return policy


def sign_in_unlock(*, actor: User | None, username: str = "", ip_address: str = "") -> int:
    """Clear the failed sign-ins of a username and/or address (lifting a lockout early);
    returns how many were cleared."""
    from axes.utils import reset

    if actor is not None:
        require(actor, AccountAction.USER_MANAGE)
    if not username and not ip_address:
        raise InvalidInput.single("username", _("Name a username or an address to unlock"), "")
    count = 0
    if username:
        count += reset(username=username)
    if ip_address:
        count += reset(ip=ip_address)
    log_action(actor=actor, action="user.unlock", object_type="accounts.user",
               object_id=username[:64], extra={"ip_address": ip_address, "cleared": count})
    return count


SAVED_VIEW_QUERY_MAX = 2000


def saved_view_save(*, actor: Actor, list_name: str, name: str, query: str,
                    allowed: Sequence[str], shared: bool = False) -> SavedView:
    """Save the list's current view under `name` (replacing the actor's own view of that
    name). Only the parameters in `allowed` are kept, so a view never carries a page
    cursor or anything the list does not understand."""
    owner = staff(actor)
    if owner is None:
        raise PermissionDenied("Sign in to save views")
    clean_name = " ".join(name.split())[:80]
    if not clean_name:
        raise InvalidInput.single("name", _("A view needs a name"), name)
    params = QueryDict(query, mutable=True)
    for key in list(params):
        if key not in allowed or not any(params.getlist(key)):
            del params[key]
    encoded = params.urlencode()
    if len(encoded) > SAVED_VIEW_QUERY_MAX:
        raise InvalidInput.single("query", _("Too many filters to save in one view"),
                                  len(encoded))
    with transaction.atomic():
        view, created = SavedView.objects.update_or_create(
            owner=owner, list_name=list_name, name=clean_name,
            defaults={"query": encoded, "shared": shared, "updated_at": timezone.now()})
        log_action(actor=actor, action="saved_view.create" if created else "saved_view.update",
                   obj=view, changes={"name": [None, view.name], "query": [None, encoded],
                                      "shared": [None, shared]})
    return view


def saved_view_deletable(actor: Actor, view: SavedView) -> bool:
    """One's own view, or (managers and administrators) a shared one."""
    return view.owner_id == getattr(actor, "pk", None) or (
        view.shared and effective_role(actor) in (Role.ADMIN, Role.MANAGER))


def saved_view_delete(*, actor: Actor, view: SavedView) -> None:
    """Delete a saved view the actor may delete (saved_view_deletable)."""
    if not saved_view_deletable(actor, view):
        raise PermissionDenied(_("Only its owner can delete this view"))
    with transaction.atomic():
        log_action(actor=actor, action="saved_view.delete", obj=view,
                   changes={"name": [view.name, None]})
        view.delete()


def user_set_active(*, actor: User | None, user: User, active: bool) -> User:
    """Deactivate (or reactivate) a staff account: a deactivated person cannot sign in,
    their sessions end at once and their API tokens stop working; what they did stays."""
    if actor is not None:
        require(actor, AccountAction.USER_MANAGE)
        if user.pk == actor.pk and not active:
            raise InvalidInput.single("user", _("You cannot deactivate yourself"), user.pk)
    if user.is_active == active:
        return user
    with transaction.atomic():
        user.is_active = active
        user.session_epoch += 1  # ends every session now
        user.save(update_fields=["is_active", "session_epoch"])
        log_action(actor=actor, action="user.activate" if active else "user.deactivate",
                   obj=user, changes={"is_active": [not active, active]})
    return user


def user_invite(*, actor: User | None, username: str, role: str, first_name: str = "",
                last_name: str = "", email: str = "", team_name: str = "") -> tuple[User, str]:
    """Add a staff member with a one-time password to hand over (shown once); they
    change it on the security page. Returns the user and the password."""
    if actor is not None:
        require(actor, AccountAction.USER_MANAGE)
    clean = username.strip()
    if not clean or len(clean) > 150 or any(c.isspace() for c in clean):
        raise InvalidInput.single("username", _("A username without spaces, at most 150 "
                                               "characters"), username)
    if not role:
        raise InvalidInput.single("role", _("Choose a role"), role)
    password = secrets.token_urlsafe(12)
    with transaction.atomic():
        team = team_get_or_create(actor=actor, name=team_name.strip()[:100]) \
            if team_name.strip() else None
        user = user_create(actor=actor, username=clean, password=password, role=role,
                           team=team, email=email.strip(), first_name=first_name.strip(),
                           last_name=last_name.strip())
    return user, password
