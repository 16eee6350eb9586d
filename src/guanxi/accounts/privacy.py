"""How long staff sign-in records are kept (registered with core.privacy)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from guanxi.core.privacy import RetentionRule, register_retention


def _logs(cutoff: Any) -> list[Any]:
    from axes.models import AccessFailureLog, AccessLog

    return [AccessLog.objects.filter(attempt_time__lt=cutoff),
            AccessFailureLog.objects.filter(attempt_time__lt=cutoff)]


def register_accounts_retention() -> None:
    register_retention(RetentionRule(
        "accounts.sign_in_log", _("Staff sign-in history"), "accounts",
        "GUANXI_RETAIN_SIGN_IN_DAYS", "days", _("deleted"),
        lambda cutoff: sum(qs.count() for qs in _logs(cutoff)),
        lambda cutoff: sum(int(qs.delete()[0]) for qs in _logs(cutoff))))
