"""Hourly sealing of new audit entries into the hash chain (see audit.chain)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task


@db_periodic_task(crontab(minute="23"))
def audit_seal_task() -> int:
    from guanxi.audit.chain import audit_seal

    return audit_seal()
