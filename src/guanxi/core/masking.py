"""Masking of personal data for roles that may analyse but not identify."""

from __future__ import annotations

import re
from typing import Any

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


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Seven or more digits, possibly split by spaces, dashes, dots or brackets, with an
# optional leading +: phone numbers, ID card and account numbers in free text.
_DIGITS = re.compile(r"\+?\d(?:[\s\-.()]*\d){6,}[\dXx]?")


def mask_free_text(value: str) -> str:
    """Contacts and long numbers inside free text (notes, old event summaries): emails
    keep their first letter and domain, numbers their last four digits."""
    if not value:
        return value
    text = _EMAIL.sub(lambda m: mask_email(m.group(0)), value)

    def digits(m: re.Match[str]) -> str:
        raw = re.sub(r"\D", "", m.group(0))
        return "*" * (len(raw) - 4) + raw[-4:]

    return _DIGITS.sub(digits, text)


def mask_value(value: Any) -> Any:
    """A customer's own attributes for a masked role: texts masked, numbers and yes/no
    kept (they are what analysis needs), lists and objects walked."""
    if isinstance(value, dict):
        return {k: mask_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(v) for v in value]
    if isinstance(value, str):
        return mask_text(value)
    return value
