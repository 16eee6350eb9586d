"""Tamper evidence for the audit log. Each entry carries the SHA-256 digest of what was
written; sealing links the digests in id order into a hash chain (chain_n =
sha256(chain_n-1 + digest_n)). `guanxi audit verify` seals what is new, then recomputes
every digest and the whole chain: an entry edited, deleted or slipped in shows up.

Sealing runs after the fact (hourly, and before each verify) instead of at every write,
so audited writes never queue on one "last entry" row. Entries younger than a minute are
left for the next seal (their transactions may still be open). An entry redacted by an
erasure keeps its original digest; its content is then not compared (the values are
gone by design) but it stays in the chain."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from guanxi.audit.models import AuditEntry

SEAL_DELAY = dt.timedelta(minutes=1)
GENESIS = "0" * 64


def entry_digest(values: dict[str, Any]) -> str:
    at = values["at"]
    content = {
        "at": at.astimezone(dt.UTC).isoformat() if isinstance(at, dt.datetime) else str(at),
        "actor_id": values.get("actor_id"), "actor_label": values.get("actor_label"),
        "action": values.get("action"), "object_type": values.get("object_type"),
        "object_id": values.get("object_id"), "customer_id": values.get("customer_id"),
        "changes": values.get("changes"), "extra": values.get("extra")}
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _digest_of(entry: AuditEntry) -> str:
    return entry_digest({f: getattr(entry, f) for f in (
        "at", "actor_id", "actor_label", "action", "object_type", "object_id", "customer_id",
        "changes", "extra")})


def _link(previous: str, digest: str) -> str:
    return hashlib.sha256(f"{previous}{digest}".encode()).hexdigest()


def audit_seal(now: dt.datetime | None = None, batch: int = 5000) -> int:
    """Chain the unsealed entries older than a minute, in id order; returns how many."""
    cutoff = (now or timezone.now()) - SEAL_DELAY
    plain: models.QuerySet[AuditEntry] = models.QuerySet(AuditEntry)
    sealed = 0
    while True:
        with transaction.atomic():
            last = (AuditEntry.objects.exclude(chain="").order_by("-id")
                    .values_list("id", "chain").first())
            last_id, previous = last if last else (0, GENESIS)
            todo = list(AuditEntry.objects.filter(chain="", id__gt=last_id, at__lt=cutoff)
                        .order_by("id").values_list("id", "digest")[:batch])
            for pk, digest in todo:
                previous = _link(previous, digest)
                plain.filter(pk=pk, chain="").update(chain=previous)
            sealed += len(todo)
        if len(todo) < batch:
            return sealed


@dataclass
class Verification:
    checked: int = 0
    redacted: int = 0
    unsealed: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def audit_verify() -> Verification:
    """Recompute every sealed entry's digest (unless redacted) and the chain."""
    result = Verification()
    previous = GENESIS
    for entry in AuditEntry.objects.exclude(chain="").order_by("id").iterator(chunk_size=2000):
        result.checked += 1
        if entry.redacted_at is not None:
            result.redacted += 1
        elif _digest_of(entry) != entry.digest:
            result.problems.append(f"entry {entry.pk}: its content was changed")
        previous = _link(previous, entry.digest)
        if previous != entry.chain:
            result.problems.append(f"entry {entry.pk}: the chain breaks here (an entry "
                                   "before it was removed, inserted or changed)")
            previous = entry.chain  # report each break once
    last_sealed = (AuditEntry.objects.exclude(chain="").order_by("-id")
                   .values_list("id", flat=True).first()) or 0
    result.unsealed = AuditEntry.objects.filter(chain="").count()
    stray = AuditEntry.objects.filter(chain="", id__lt=last_sealed).count()
    if stray:
        result.problems.append(f"{stray} entries older than the sealed ones are not in the "
                               "chain (written late, or inserted afterwards)")
    return result
