"""Reading one range of customers from the database: orders and events as packed numpy
arrays, with SQL per database (the constants every scoring module shares live here)."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from django.db import DatabaseError, connection

from guanxi.analytics.models import SCORING_HORIZON_DAYS
from guanxi.timeline.kinds import COMPLAINT as COMPLAINT_FLAG
from guanxi.timeline.kinds import INTERACTION as INTERACTION_FLAG
from guanxi.timeline.kinds import SYSTEM, VALUE_TIER, kinds_with
from guanxi.timeline.store import event_model

DAY = 86400.0
HORIZON_DAYS = SCORING_HORIZON_DAYS  # churn and expected-purchases horizon
CLV_DAYS = 365
FIT_SAMPLE = 50_000        # customers the purchase model is fitted on (a random sample)
REASONS_MAX = 50_000       # churn reasons in the batch up to this many buyers per range;
                           # above, the 360 page computes one customer's on demand
CHURN_SAMPLE = 200_000     # customers the churn model is trained on
MIN_REPEAT_BUYERS = 50     # fewer, and the purchase models have nothing to learn from

# Event codes (bits) computed in SQL, so no kind strings cross into Python.
ACTIVITY, INTERACTION, COMPLAINT, TIER_CHANGE = 1, 2, 4, 8


@dataclass
class RangeData:
    """Raw rows of one customer-id range, as numpy arrays."""

    ids: np.ndarray                 # customer ids, sorted
    created: np.ndarray             # customer created_at (epoch s)
    order_customer: np.ndarray
    order_time: np.ndarray
    order_total: np.ndarray
    event_customer: np.ndarray
    event_time: np.ndarray
    event_code: np.ndarray
    event_channel: np.ndarray       # small integer per distinct channel text
    previous: dict[int, tuple[str, str]] = field(default_factory=dict)  # id -> (stage, tier)
    last_order_id: int = 0


SHIFT = 2 ** 32  # customer id and epoch second packed in one integer sort together


def _epoch(column: str) -> str:
    """Whole epoch seconds of a timestamp column (fractions dropped), as an integer."""
    if connection.vendor == "postgresql":
        return f"floor(date_part('epoch', {column}))::bigint"  # float8: cheaper than EXTRACT
    import sqlite3

    if sqlite3.sqlite_version_info >= (3, 38):
        return f"unixepoch({column})"
    return f"CAST((julianday({column}) - 2440587.5) * 86400 AS INTEGER)"


def _in_list(values: tuple[str, ...]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def _fetch(columns: list[tuple[str, str, str]], source: str, params: list[Any],
           owner: str, *, scattered: bool = False) -> dict[str, np.ndarray]:
    """`SELECT <owner>, <columns> FROM <source>` as numpy columns (the owner column, an
    integer, under the name "owner"); `columns` are (name, SQL expression, numpy dtype),
    expressions never NULL. PostgreSQL sends one text row per owner (a customer): its
    rows as CSV lines joined on the server, parsed by pandas in C. Row-by-row transfer
    (COPY included) costs the client more than the query costs the server. On SQLite
    numpy converts the row tuples in C. `scattered`: the rows lie all over the table (a
    customer's events were written over years), so PostgreSQL reads the pages in order
    (bitmap scan) instead of following the index to each row (measured: half the time)."""
    names = [name for name, _expr, _kind in columns]
    dtype = [("owner", "i8"), *[(name, kind) for name, _expr, kind in columns]]
    exprs = [expr for _name, expr, _kind in columns]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            if scattered:
                cursor.execute("SELECT current_setting('enable_indexscan'), "
                               "set_config('enable_indexscan', 'off', false)")
                before = cursor.fetchone()[0]
            try:
                cursor.execute(f"SELECT {owner}, count(*), string_agg(concat_ws(',', "
                               f"{', '.join(exprs)}), E'\\n') FROM {source} "
                               f"GROUP BY {owner}", params)
                groups = cursor.fetchall()
            finally:
                # (after a failed query in a transaction, its rollback restores it anyway)
                with contextlib.suppress(DatabaseError):
                    if scattered:
                        cursor.execute("SELECT set_config('enable_indexscan', %s, false)",
                                       [before])
        if not groups:
            return {name: np.empty(0, dtype=kind) for name, kind in dtype}
        owners, counts = np.array([(g[0], g[1]) for g in groups], dtype=np.int64).T
        frame = pd.read_csv(io.BytesIO("\n".join(g[2] for g in groups).encode()),
                            header=None, names=names, dtype=dict(dtype[1:]),
                            keep_default_na=False)
        return {"owner": np.repeat(owners, counts),
                **{name: frame[name].to_numpy() for name in names}}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {owner}, {', '.join(exprs)} FROM {source}", params)
        rows = cursor.fetchall()
    array = np.array(rows, dtype=dtype) if rows else np.empty(0, dtype=dtype)
    return {name: array[name] for name, _kind in dtype}


def _tables() -> dict[str, str]:
    """Tables by their models (no SQL names another app's table)."""
    from guanxi.analytics.models import CustomerScore
    from guanxi.customers.models import Customer, Order

    return {"customer": Customer._meta.db_table, "order": Order._meta.db_table,
            "event": event_model()._meta.db_table, "score": CustomerScore._meta.db_table}


def read_range(lo: int, hi: int, as_of: dt.datetime, ids: list[int] | None = None
               ) -> RangeData:
    """Customers with lo <= id < hi (or exactly `ids`), their paid orders and their
    events up to `as_of`, and their current stage and tier."""
    when = connection.ops.adapt_datetimefield_value(pd.Timestamp(as_of).to_pydatetime())
    if ids is not None:
        where, params = f"IN ({', '.join(['%s'] * len(ids))})", list(ids)
    else:
        where, params = "BETWEEN %s AND %s", [lo, hi - 1]
    postgres = connection.vendor == "postgresql"
    tables = _tables()
    cust = _fetch([("id", "id", "i8"), ("t", _epoch("created_at"), "i8")],
                  f"{tables['customer']} WHERE id {where}", params, "id / 1000")
    orders = _fetch([("time", _epoch("placed_at"), "i8"), ("total", "total", "f8")],
                    f"{tables['order']} WHERE customer_id {where} AND status = 'paid' "
                    f"AND placed_at <= %s", [*params, when], "customer_id")
    tier_kinds = kinds_with(VALUE_TIER)
    touches, complaints = kinds_with(INTERACTION_FLAG), kinds_with(COMPLAINT_FLAG)
    code = (f"CASE WHEN kind IN ({_in_list(tier_kinds)}) THEN {TIER_CHANGE} ELSE {ACTIVITY}"
            f" + CASE WHEN kind IN ({_in_list(touches)}) THEN {INTERACTION} ELSE 0 END"
            f" + CASE WHEN kind IN ({_in_list(complaints)}) THEN {COMPLAINT} ELSE 0 END END")
    # what Guanxi records about a customer rather than what the customer did
    system = tuple(k for k in kinds_with(SYSTEM) if k not in tier_kinds)
    # a first tier (from none, as every customer gets at their first scoring) is no change
    first_tier = ("data->>'from' IS NULL" if postgres
                  else "json_extract(data, '$.from') IS NULL")
    events = _fetch([("time", _epoch("occurred_at"), "i8"), ("code", code, "i8"),
                     # only distinctness matters: PostgreSQL sends a hash (no quoting)
                     ("channel", "hashtext(channel)" if postgres else "channel",
                      "i8" if postgres else "O")],
                    f"{tables['event']} WHERE customer_id {where} AND occurred_at <= %s "
                    f"AND kind NOT IN ({_in_list(system)}) "
                    f"AND NOT (kind IN ({_in_list(tier_kinds)}) AND {first_tier})",
                    [*params, when],
                    "customer_id", scattered=True)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT customer_id, stage, tier FROM {tables['score']} "
                       f"WHERE customer_id {where}", params)
        previous = {row[0]: (row[1], row[2]) for row in cursor.fetchall()}
        cursor.execute(f"SELECT MAX(id) FROM {tables['order']} WHERE customer_id {where}",
                       params)
        last_order_id = cursor.fetchone()[0] or 0
    channel_codes = (pd.factorize(events["channel"])[0] if len(events["channel"])
                     else np.empty(0, np.int64))
    order = np.argsort(cust["id"], kind="stable")
    return RangeData(
        ids=cust["id"][order], created=cust["t"][order].astype(float),
        order_customer=orders["owner"], order_time=orders["time"].astype(float),
        order_total=orders["total"].astype(float),
        event_customer=events["owner"], event_time=events["time"].astype(float),
        event_code=events["code"], event_channel=channel_codes.astype(np.int64),
        previous=previous,
        last_order_id=int(last_order_id))
