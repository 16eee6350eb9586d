"""Two-factor sign-in with an authenticator app (TOTP, django-otp) and one-time recovery
codes. Every change is audited; the codes are shown once and stored only by the device."""

from __future__ import annotations

import base64
import io
from typing import cast

import django_otp
import qrcode
import qrcode.image.svg
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from guanxi.accounts.models import User
from guanxi.accounts.permissions import AccountAction
from guanxi.audit.services import log_action
from guanxi.core.errors import InvalidInput
from guanxi.core.permissions import require

RECOVERY_CODES = 10
TOTP_NAME = "authenticator"
RECOVERY_NAME = "recovery"


def has_two_factor(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def totp_start(*, user: User) -> TOTPDevice:
    """A new, unconfirmed authenticator for the user (an earlier unconfirmed one is
    dropped); it counts only once a code from the app confirms it."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)


def totp_pending(*, user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()


def qr_svg(device: TOTPDevice) -> str:
    """The device's otpauth:// address as an SVG QR code, for the setup page."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage,
                        box_size=8)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue().decode()


def totp_key_text(device: TOTPDevice) -> str:
    """The device's key as the app asks for it when typed: base32, in groups of four."""
    text = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(text[i:i + 4] for i in range(0, len(text), 4))


def _new_recovery_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _i in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    return codes


def totp_confirm(*, user: User, device: TOTPDevice, code: str) -> list[str]:
    """Confirm the pending authenticator with a code it shows; returns the new recovery
    codes (shown once). Any earlier authenticator is replaced."""
    if device.user_id != user.pk or device.confirmed:
        raise InvalidInput.single("code", _("Start the set-up again"), "")
    if not device.verify_token(code.replace(" ", "")):
        raise InvalidInput.single("code", _("That code is not right; check the time on "
                                            "your phone and try the next one"), "")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _new_recovery_codes(user)
        log_action(actor=user, action="user.two_factor_on", obj=user)
    return codes


def recovery_codes_renew(*, user: User) -> list[str]:
    if not has_two_factor(user):
        raise InvalidInput.single("two_factor", _("Two-factor sign-in is not set up"), "")
    with transaction.atomic():
        codes = _new_recovery_codes(user)
        log_action(actor=user, action="user.recovery_codes_renew", obj=user)
    return codes


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user).count()


def two_factor_remove(*, actor: User, user: User) -> None:
    """Turn two-factor sign-in off: by the user, or by an administrator for a user who
    lost the phone and the recovery codes."""
    if actor.pk != user.pk:
        require(actor, AccountAction.USER_MANAGE)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        log_action(actor=actor, action="user.two_factor_off", obj=user)


def two_factor_verify(*, request: HttpRequest, code: str) -> bool:
    """Check a code from the authenticator or a recovery code (used up) and mark this
    session verified."""
    user = cast(User, request.user)
    device = django_otp.match_token(user, code.replace(" ", "").strip())
    if device is None:
        log_action(actor=user, action="user.two_factor_failed", obj=user)
        return False
    django_otp.login(request, device)
    if isinstance(device, StaticDevice):
        log_action(actor=user, action="user.recovery_code_used", obj=user,
                   extra={"left": recovery_codes_left(user)})
    return True
