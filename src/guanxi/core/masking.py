"""Masking of personal data for roles that may analyse but not identify."""

from __future__ import annotations

import phonenumbers


def mask_phone(e164: str) -> str:
    """+8613812345678 -> 138****5678; foreign numbers keep their country code."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return mask_text(e164)
    national = str(parsed.national_number)
    if len(national) <= 4:
        masked = "*" * len(national)
    else:
        head = national[:3] if len(national) >= 10 else national[:2]
        masked = head + "*" * (len(national) - len(head) - 4) + national[-4:]
    return masked if parsed.country_code == 86 else f"+{parsed.country_code} {masked}"


def mask_email(email: str) -> str:
    """john@example.com -> j***@example.com"""
    local, sep, domain = email.partition("@")
    if not sep:
        return mask_text(email)
    return f"{local[:1]}***@{domain}"


def mask_text(value: str) -> str:
    if not value:
        return value
    return value[:1] + "***"
