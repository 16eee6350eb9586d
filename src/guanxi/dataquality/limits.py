"""Size limits of imports, from settings (GUANXI_IMPORT_MAX_MB, GUANXI_IMPORT_MAX_ROWS)."""

from __future__ import annotations

from django.conf import settings


def max_bytes() -> int:
    return int(getattr(settings, "GUANXI_IMPORT_MAX_BYTES", 500 * 1024 * 1024))


def max_rows() -> int:
    return int(getattr(settings, "GUANXI_IMPORT_MAX_ROWS", 2_000_000))
