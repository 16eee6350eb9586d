"""Validation and standardisation of customer values: the one module import, API and
forms use. Each function takes what a person or a spreadsheet typed and returns the
stored form, or raises InvalidInput naming the field, the value and the reason."""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from guanxi.core.errors import InvalidInput
from guanxi.customers.names import PersonName, has_cjk, person_name, to_simplified
from guanxi.customers.normalize import normalize_email, normalize_phone, to_halfwidth

__all__ = [
    "MissingPolicy", "PersonName", "apply_missing_policy", "normalize_email",
    "normalize_phone", "parse_address", "parse_date", "parse_gender", "person_name",
    "to_halfwidth", "to_simplified",
]


# --- dates -------------------------------------------------------------------------

_DATE_PATTERNS = [
    (re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?$"), "ymd"),
    (re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})[日号]?$"), "ymd"),
    (re.compile(r"^(\d{4})(\d{2})(\d{2})$"), "ymd"),
    (re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$"), "dmy_or_mdy"),
]
_EXCEL_EPOCH = dt.date(1899, 12, 30)


def parse_date(value: Any, *, field: str = "date", day_first: bool = True) -> dt.date:
    """ISO, 1990/1/2, 1990.1.2, 19900102, 1990年1月2日, 02/01/1990 (day first unless told
    otherwise; unambiguous when the day is above 12), Excel serial numbers, date objects."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 1 <= value < 80000:
            return _EXCEL_EPOCH + dt.timedelta(days=int(value))
        raise InvalidInput.single(field, _("Not a date"), value)
    text = to_halfwidth(str(value)).strip()
    for pattern, order in _DATE_PATTERNS:
        m = pattern.match(text)
        if not m:
            continue
        a, b, c = (int(g) for g in m.groups())
        if order == "ymd":
            y, mo, d = a, b, c
        elif a > 12 or (day_first and b <= 12):
            d, mo, y = a, b, c
        else:
            mo, d, y = a, b, c
        try:
            return dt.date(y, mo, d)
        except ValueError as exc:
            raise InvalidInput.single(field, _("No such date"), value) from exc
    raise InvalidInput.single(
        field, _("Not a date; write it as YYYY-MM-DD, YYYY/M/D, DD/MM/YYYY or 1990年1月2日"),
        value)


# --- gender ------------------------------------------------------------------------

# Keys are Customer.gender values (customers.models.Gender), kept literal so this module
# works without Django's app registry (the file-only `guanxi dedupe`).
_GENDERS = {
    "female": {"f", "female", "woman", "w", "女", "女士", "小姐", "ms", "mrs", "miss", "2",
                    "weiblich", "frau"},
    "male": {"m", "male", "man", "男", "先生", "mr", "1", "männlich", "herr"},
    "other": {"other", "diverse", "d", "其他", "x", "nonbinary", "non-binary"},
    "unknown": {"", "unknown", "u", "未知", "保密", "n/a", "na", "-", "0"},
}
_GENDER_LOOKUP = {alias: g for g, aliases in _GENDERS.items() for alias in aliases}


def parse_gender(value: Any, *, field: str = "gender") -> str:
    key = to_halfwidth(str(value or "")).strip().lower().rstrip(".")
    try:
        return _GENDER_LOOKUP[key]
    except KeyError:
        raise InvalidInput.single(
            field, _("Unknown gender; use female/male/other/unknown or 女/男"), value) from None


# --- addresses ---------------------------------------------------------------------

@dataclass(frozen=True)
class ParsedAddress:
    """A Chinese address split into its administrative parts."""

    province: str
    city: str
    district: str
    street: str
    adcode: str = ""


_ADDRESS_CACHE: dict[str, ParsedAddress] = {}
_ADDRESS_CACHE_MAX = 100_000


def parse_address(value: str) -> ParsedAddress:
    """'广东省广州市天河区体育西路1号' -> 广东省 / 广州市 / 天河区 / 体育西路1号; also
    works without the province ('杭州市西湖区文三路') and with traditional characters."""
    if value not in _ADDRESS_CACHE:
        prime_addresses([value])
    return _ADDRESS_CACHE.get(value) or parse_addresses([value])[0]


def prime_addresses(values: list[str]) -> None:
    """Parse the addresses of a whole chunk in one batch (one call per address costs the
    parser's set-up each time)."""
    todo = list(dict.fromkeys(v for v in values if v and v not in _ADDRESS_CACHE))
    if not todo:
        return
    if len(_ADDRESS_CACHE) + len(todo) > _ADDRESS_CACHE_MAX:
        _ADDRESS_CACHE.clear()
    _ADDRESS_CACHE.update(zip(todo, parse_addresses(todo), strict=True))


def parse_addresses(values: list[str]) -> list[ParsedAddress]:
    """parse_address for many values at once (the parser is much faster in batches)."""
    texts = [to_simplified(to_halfwidth(v or "").strip()) for v in values]
    chinese = [i for i, t in enumerate(texts) if has_cjk(t)]
    out = [ParsedAddress("", "", "", t) for t in texts]
    if not chinese:
        return out
    import cpca  # its lookup tables load on first use

    table = cpca.transform([texts[i] for i in chinese])
    for i, row in zip(chinese, table.itertuples(index=False), strict=True):
        province, city, district, rest, adcode = (str(x or "") for x in row[:5])
        if city == "市辖区":  # the four municipalities: the city is the province
            city = province
        out[i] = ParsedAddress(province, city, district, rest, adcode)
    return out


# --- missing values ----------------------------------------------------------------

class MissingPolicy(enum.StrEnum):
    """What an empty cell means for a field."""

    REJECT = "reject"
    EMPTY = "empty"
    DEFAULT = "default"


MISSING_TOKENS = frozenset({"", "null", "none", "n/a", "na", "nan", "-", "—", "无", "空"})


def is_missing(value: Any) -> bool:
    if value is None:
        return True
    return isinstance(value, str) and to_halfwidth(value).strip().lower() in MISSING_TOKENS


def apply_missing_policy(value: Any, *, field: str, policy: MissingPolicy,
                         default: Any = None) -> Any:
    """None when the field stays empty, the default, or InvalidInput for 'reject'."""
    if not is_missing(value):
        return value
    if policy is MissingPolicy.REJECT:
        raise InvalidInput.single(field, _("This field is required"), value)
    if policy is MissingPolicy.DEFAULT:
        return default
    return None
