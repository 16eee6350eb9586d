"""jsonable(): a value as plain JSON types, for what is stored or handed out as JSON
(audit values, data-subject exports)."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from django.db import models


def jsonable(value: Any) -> Any:
    """Dates and times as ISO 8601, decimals as strings (no float rounding), model
    instances as their text; lists, tuples and dicts walked."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value
