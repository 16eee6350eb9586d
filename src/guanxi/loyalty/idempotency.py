"""Idempotent write requests: the first call with a key runs and its answer (success or
a domain error) is stored with the key; a repeat with the same key and the same request
gets that answer again and changes nothing; the same key with a different request is
refused. The caller's lock (the member's row) is taken before the key is looked up, so
two concurrent requests with one key cannot both run."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from guanxi.core.errors import DomainError, FieldError
from guanxi.loyalty.models import RequestRecord


class KeyReused(DomainError):
    def __init__(self) -> None:
        super().__init__(message=_("This idempotency key was used for a different request"),
                         status=422, code="idempotency_key_reused",
                         errors=[FieldError("idempotency_key", _(
                             "This idempotency key was used for a different request"))])


def _fingerprint(request: Mapping[str, Any]) -> str:
    text = json.dumps(request, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _error(status: int, body: Mapping[str, Any]) -> DomainError:
    return DomainError(message=str(body.get("message", "")), status=status,
                       code=str(body.get("code", "")),
                       errors=[FieldError(e["field"], e["message"])
                               for e in body.get("errors", [])],
                       extra=dict(body.get("extra", {})))


def once(key: str, request: Mapping[str, Any], run: Callable[[], dict[str, Any]], *,
         lock: Callable[[], object] | None = None) -> dict[str, Any]:
    """Run `run` once per `key` (already scoped by the caller: endpoint and member);
    return its answer, or raise its domain error — the first time and on every repeat."""
    fingerprint = _fingerprint(request)
    with transaction.atomic():
        if lock is not None:
            lock()
        record = RequestRecord.objects.filter(key=key).first()
        if record is not None:
            if record.fingerprint != fingerprint:
                raise KeyReused()
            status, body = record.status, record.body
        else:
            try:
                with transaction.atomic():
                    status, body = 200, run()
            except DomainError as exc:
                status, body = exc.status, {
                    "message": exc.message, "code": exc.code, "extra": exc.extra,
                    "errors": [{"field": e.field, "message": e.message} for e in exc.errors]}
            try:
                with transaction.atomic():
                    RequestRecord.objects.create(key=key[:200], fingerprint=fingerprint,
                                                 status=status, body=body)
            except IntegrityError:
                # A concurrent request with the key (one that locks nothing) answered
                # first; its answer stands and this run is undone.
                transaction.set_rollback(True)
                record = RequestRecord.objects.get(key=key[:200])
                if record.fingerprint != fingerprint:
                    raise KeyReused() from None
                status, body = record.status, record.body
    if status >= 400:
        raise _error(status, body)
    return dict(body)
