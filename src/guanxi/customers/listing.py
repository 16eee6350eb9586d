"""The customer list's parameters: filters, sort, page size and columns, read from the
query string (and kept in saved views). Pure: no database access."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from guanxi.customers import extensions
from guanxi.customers.selectors import CUSTOMER_SORTS, DEFAULT_SORT

LIST_NAME = "customers"
PAGE_SIZES = (25, 50, 100)


@dataclass(frozen=True)
class Column:
    key: str
    label: Any
    sort: str = ""  # the CUSTOMER_SORTS key ascending ("" if it cannot be sorted)
    default: bool = True


COLUMNS = (
    Column("phone", _("Phone")),
    Column("email", _("Email")),
    Column("region", _("Region"), sort="region"),
    Column("tags", _("Tags")),
    Column("owner", _("Owner")),
    Column("source", _("Source"), default=False),
    Column("company", _("Company"), default=False),
    Column("created", _("Customer since"), sort="created", default=False),
)
COLUMN_KEYS = tuple(c.key for c in COLUMNS)


@dataclass
class ListParams:
    filters: dict[str, Any]
    sort: str
    size: int
    columns: list[str]
    cursor: str | None
    before: str | None

    def search_args(self) -> dict[str, Any]:
        return {**self.filters, "sort": self.sort, "limit": self.size,
                "cursor": self.cursor, "before": self.before}


def filter_keys() -> list[str]:
    """The query parameters a saved view keeps."""
    return ["q", "tag", "owner", "region", "sort", "size", "cols",
            *(f.param for f in extensions.list_filters())]


def list_params(query: QueryDict) -> ListParams:
    owner = query.get("owner", "")
    filters: dict[str, Any] = {
        "q": query.get("q", "").strip()[:200], "tag": query.get("tag", "")[:50],
        "owner_id": int(owner) if owner.isdigit() else None,
        "region": query.get("region", "")[:100]}
    facets: dict[str, str] = {}
    for extra in extensions.list_filters():  # e.g. the segment or stage, from analytics
        value = query.get(extra.param, "")
        if extra.lookups is not None:
            if value:
                facets[extra.param] = value[:60]
        else:
            filters[extra.argument] = int(value) if value.isdigit() else None
    filters["facets"] = facets
    sort = query.get("sort", DEFAULT_SORT)
    size = query.get("size", "")
    # "cols=phone,email" (links, saved views) or one "cols" per ticked box (the chooser).
    cols = [c for value in query.getlist("cols") for c in value.split(",") if c in COLUMN_KEYS]
    return ListParams(
        filters=filters, sort=sort if sort in CUSTOMER_SORTS else DEFAULT_SORT,
        size=int(size) if size.isdigit() and int(size) in PAGE_SIZES else PAGE_SIZES[0],
        columns=cols or [c.key for c in COLUMNS if c.default],
        cursor=query.get("cursor") or None, before=query.get("before") or None)
