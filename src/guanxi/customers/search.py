"""Search terms: the keys under which a customer can be found, and query ranges over them.

Terms live in one indexed column and are matched by prefix as a range
(term >= q AND term < q + U+FFFF), which uses the index on SQLite and PostgreSQL alike.
Namespaces: 'n:' names and pinyin; 'e:' emails and their local parts; 'p:' phone digits;
'r:' reversed phone digits, so "the last four digits" is also a prefix search.

Roles that see contacts masked find a customer by phone or email only with the whole
value: a prefix search would let them recover a masked number digit by digit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

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
        terms.add(f"e:{e}")
        terms.add(f"e:{e.split('@', 1)[0]}")
    for phone in phones:
        terms.update(_phone_terms(phone))
    return {t[:MAX_TERM] for t in terms}


# Fewest digits of a whole phone number (mainland mobiles have 11; fixed lines 10-12
# with the area code).
WHOLE_PHONE_DIGITS = 10


@dataclass(frozen=True)
class Query:
    """Term prefixes (ranges) and whole terms (equality) a query matches."""

    prefixes: list[str] = field(default_factory=list)
    exact: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.prefixes or self.exact)


def query_terms(q: str, *, whole_contacts_only: bool = False) -> Query:
    """What a query string should match; with `whole_contacts_only` (masked roles) phones
    and emails match only in full."""
    folded = fold(q)
    if not folded:
        return Query()
    digits = re.sub(r"[\s\-+()]", "", folded)
    if digits.isdigit():
        if digits.startswith("0086"):
            digits = digits[2:]
        if whole_contacts_only:
            ok = len(digits) >= WHOLE_PHONE_DIGITS
            return Query(exact=[f"p:{digits}"] if ok else [])
        prefixes = [f"p:{digits}"]
        if len(digits) >= 3:
            prefixes.append(f"r:{digits[::-1]}")
        return Query(prefixes=prefixes)
    if whole_contacts_only:
        if "@" in folded:
            return Query(exact=[f"e:{folded}"])
        return Query(prefixes=[f"n:{folded}"])
    return Query(prefixes=[f"n:{folded}", f"e:{folded}"])


def prefix_range(prefix: str) -> tuple[str, str]:
    return prefix, prefix + HIGH
