"""The automation app's personal data: which automations a person went through and
what each step did (export; erasure deletes the runs, their step logs and actions)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from guanxi.automation.models import Run, StepLog
from guanxi.core.jsonable import jsonable
from guanxi.core.privacy import Person, PersonalData, register_personal_data


def _export(person: Person) -> list[dict[str, Any]]:
    out = []
    runs = Run.objects.filter(customer_id=person.customer_id).select_related("automation")
    for run in runs.order_by("pk"):
        steps = StepLog.objects.filter(run=run).order_by("pk").values("step", "kind", "outcome",
                                                                     "at")
        out.append(jsonable({"automation": run.automation.name, "status": run.status,
                             "entered_at": run.entered_at, "finished_at": run.finished_at,
                             "steps": list(steps)}))
    return out


def _erase(person: Person) -> int:
    return int(Run.objects.filter(customer_id=person.customer_id).delete()[0])


def register_automation_personal_data() -> None:
    register_personal_data(PersonalData(
        "automation.runs", _("Automations the customer went through"), "automation",
        {"automation": "record", "status": "behaviour", "steps": "behaviour"},
        [_("Marketing, sales and service workflows")], _export, _erase))
