"""Writes for staff accounts, roles and API tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from guanxi.accounts.models import ApiToken, Team, User
from guanxi.accounts.permissions import AccountAction
from guanxi.audit.services import log_action
from guanxi.core.errors import Conflict, InvalidInput
from guanxi.core.permissions import Role, require

TOKEN_PREFIX = "gx"  # noqa: S105 - a public marker, not a secret


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def user_create(*, actor: User | None, username: str, password: str | None, role: str,
                team: Team | None = None, email: str = "", is_superuser: bool = False) -> User:
    if actor is not None:
        require(actor, AccountAction.USER_MANAGE)
    if role and role not in Role.values:
        raise InvalidInput.single("role", f"Unknown role {role!r}", role)
    if User.objects.filter(username=username).exists():
        raise Conflict(f"A user named {username!r} already exists", field_name="username")
    with transaction.atomic():
        user = User(username=username, email=email, role=role, team=team,
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


def token_create(*, actor: User | None, user: User, name: str = "cli") -> tuple[ApiToken, str]:
    """Create a token and return it with its secret, which is shown once and never stored."""
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(user=user, name=name, prefix=prefix, key_hash=_hash(secret))
        log_action(actor=actor, action="token.create", obj=token,
                   changes={"user": [None, user.username], "name": [None, name]})
    return token, f"{TOKEN_PREFIX}_{prefix}_{secret}"


def token_revoke(*, actor: User | None, token: ApiToken) -> None:
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
             .filter(prefix=parts[1], revoked_at__isnull=True).first())
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
