"""Types shared by the API schemas of every app."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field

from guanxi.core.cursors import MAX_ID

# A row key: 1 .. 2**63 - 1. A larger number is a 422 naming the field, not an overflow
# in the database driver (a 500).
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


def _plausible(value: dt.datetime) -> dt.datetime:
    # Near year 1 or 9999 a time zone shift leaves the calendar (OverflowError).
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"must be between the years {FIRST_YEAR} and {LAST_YEAR}")
    return value


FIRST_YEAR, LAST_YEAR = 1900, 2200
# A moment with its time zone, in years a business can mean.
Moment = Annotated[AwareDatetime, AfterValidator(_plausible)]

# How many rows a page may ask for (each list clamps further to its own maximum).
Limit = Annotated[int, Field(ge=1, le=10_000)]
