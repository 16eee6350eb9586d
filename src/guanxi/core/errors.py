"""Domain errors raised by services and turned into form errors or problem+json."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FieldError:
    field: str
    message: str
    value: object = None


@dataclass
class DomainError(Exception):
    message: str
    status: int = 400
    code: str = "bad-request"
    errors: list[FieldError] = field(default_factory=list)
    extra: dict[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        if self.errors:
            return "; ".join(f"{e.field}: {e.message}" for e in self.errors)
        return self.message

    def as_fields(self) -> list[FieldError]:
        """The errors as a form shows them: each field's, or the message alone."""
        return list(self.errors or [FieldError("", self.message)])

    def for_people(self) -> str:
        """The reasons as a page shows them in a message (the field is on the form)."""
        return "; ".join(e.message for e in self.errors) if self.errors else str(self.message)


class InvalidInput(DomainError):
    def __init__(self, errors: list[FieldError], message: str = "Invalid input") -> None:
        super().__init__(message=message, status=422, code="validation-error", errors=errors)

    @classmethod
    def single(cls, field_name: str, message: str, value: object = None) -> InvalidInput:
        return cls([FieldError(field_name, str(message), value)])


class Conflict(DomainError):
    def __init__(self, message: str, *, field_name: str = "", extra: dict | None = None) -> None:
        errors = [FieldError(field_name, message)] if field_name else []
        super().__init__(message=message, status=409, code="conflict", errors=errors,
                         extra=extra or {})


class NotFound(DomainError):
    def __init__(self, message: str = "Not found") -> None:
        super().__init__(message=message, status=404, code="not-found")


class PreconditionFailed(DomainError):
    """The record changed since the client read it (a stale If-Match or form)."""

    def __init__(self, message: str, *, current_version: int) -> None:
        super().__init__(message=message, status=412, code="precondition-failed",
                         extra={"current_version": current_version})


PROBLEM_TYPE = "application/problem+json"


def problem_response(status: int, title: str, *, code: str = "", detail: str = "") -> Any:
    """An RFC 9457 problem+json answer outside the API's own handlers (Django's error
    pages under /api/, the docs' sign-in check)."""
    from django.http import JsonResponse

    body: dict[str, object] = {"type": f"/problems/{code or status}", "title": title,
                               "status": status}
    if detail:
        body["detail"] = detail
    return JsonResponse(body, status=status, content_type=PROBLEM_TYPE)
