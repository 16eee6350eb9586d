"""Search terms: the keys under which a customer can be found, and query ranges over them.

Terms live in one indexed column and are matched by prefix as a range
(term >= q AND term < q + U+FFFF), which uses the index on SQLite and PostgreSQL alike.
Namespaces: 'n:' names, pinyin and emails; 'p:' phone digits; 'r:' reversed phone digits,
so "the last four digits" is also a prefix search.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from guanxi.customers.names import fold, pinyin_keys

HIGH = "\uffff"
MAX_TERM = 200


def _phone_terms(e164: str) -> list[str]:
    digits = re.sub(r"\D", "", e164)
    terms = [f"p:{digits}", f"r:{digits[::-1]}"]
    if digits.startswith("86") and len(digits) > 11:
        terms.append(f"p:{digits[2:]}")  # the national number people actually type
    return terms


def terms_for(*, family_name: str, given_name: str, display_name: str,
              emails: Iterable[str] = (), phones: Iterable[str] = ()) -> set[str]:
    terms: set[str] = set()
    for name in (display_name, family_name, given_name):
        if folded := fold(name):
            terms.add(f"n:{folded}")
    for part in re.split(r"\s+", display_name or ""):
        if folded := fold(part):
            terms.add(f"n:{folded}")
    for key in pinyin_keys(family_name, given_name):
        terms.add(f"n:{key}")
    for email in emails:
        e = email.lower()
        terms.add(f"n:{e}")
        terms.add(f"n:{e.split('@', 1)[0]}")
    for phone in phones:
        terms.update(_phone_terms(phone))
    return {t[:MAX_TERM] for t in terms}


def query_prefixes(q: str) -> list[str]:
    """The term prefixes a query string should match."""
    folded = fold(q)
    if not folded:
        return []
    digits = re.sub(r"[\s\-+()]", "", folded)
    if digits.isdigit():
        if digits.startswith("0086"):
            digits = digits[2:]
        prefixes = [f"p:{digits}"]
        if len(digits) >= 3:
            prefixes.append(f"r:{digits[::-1]}")
        return prefixes
    return [f"n:{folded}"]


def prefix_range(prefix: str) -> tuple[str, str]:
    return prefix, prefix + HIGH
