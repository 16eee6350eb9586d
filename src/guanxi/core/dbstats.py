"""The query planner's statistics. SQLite has none until ANALYZE runs, and without them it
may answer "this customer's page views" by walking every page view in the database (the
kind-and-time index) instead of the customer's own events: 30 s instead of 5 ms on a
million customers. A sampled ANALYZE (analysis_limit) takes milliseconds even then, so it
runs after seeding and imports and every hour. PostgreSQL's autovacuum keeps its own
statistics; after a bulk load Guanxi asks for them at once."""

from __future__ import annotations

from django.db import connection


def statistics_refresh() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA analysis_limit=1000")
            cursor.execute("ANALYZE")
        elif connection.vendor == "postgresql":
            cursor.execute("ANALYZE")


def statistics_refresh_light() -> None:
    """The hourly refresh: SQLite only (PostgreSQL's autovacuum does its own)."""
    if connection.vendor == "sqlite":
        statistics_refresh()
