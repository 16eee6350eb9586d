"""Validation and normalisation of contact values, shared by forms, API and import."""

from __future__ import annotations

import unicodedata

import phonenumbers
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from email_validator import EmailNotValidError, validate_email

from guanxi.core.errors import InvalidInput


def to_halfwidth(value: str) -> str:
    """Full-width digits, letters and punctuation (１３８, ＠) to their ASCII forms."""
    return unicodedata.normalize("NFKC", value)


def normalize_email(value: str, *, field: str = "email") -> str:
    raw = to_halfwidth(value).strip()
    try:
        result = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        message = _("Not a valid email address")
        if (translation.get_language() or "en").startswith("en"):
            message = f"{message}: {exc}"  # the library explains in English only
        raise InvalidInput.single(field, message, value) from exc
    # The domain is case-insensitive; the local part is kept but lowered for matching,
    # as every mainstream provider treats it case-insensitively.
    return result.normalized.lower()


def normalize_phone(value: str, *, region: str | None = None, field: str = "phone") -> str:
    """Any common spelling (+86, 0086, spaces, dashes, full-width digits) to E.164."""
    raw = to_halfwidth(value).strip()
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    try:
        parsed = phonenumbers.parse(raw, region or settings.GUANXI_DEFAULT_REGION)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput.single(field, _("Not a phone number"), value) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidInput.single(field, _("Not a valid phone number for its region"), value)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str) -> str:
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    if parsed.country_code == 86:
        national = str(parsed.national_number)
        if len(national) == 11:
            return f"{national[:3]} {national[3:7]} {national[7:]}"
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
