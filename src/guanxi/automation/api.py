"""REST endpoints for automations: list, read, create and change drafts, publish, pause,
resume, archive, enrol a customer, test-run on a customer, and the runs."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from guanxi.automation import selectors, services
from guanxi.automation.engine import dry_run
from guanxi.automation.models import Automation, AutomationVersion
from guanxi.core.apitypes import Id
from guanxi.customers.selectors import customer_for_change

router = Router(tags=["automation"])


class AutomationIn(Schema):
    name: str = Field(max_length=120)
    description: str = Field("", max_length=2000)
    trigger: str = Field(max_length=64, description="A registered trigger type, e.g. "
                         "timeline.event, automation.date, automation.schedule, "
                         "analytics.segment_joined")
    trigger_config: dict[str, Any] = {}
    conditions: dict[str, Any] = Field({}, description="Entry conditions: a segment rule tree")
    steps: list[dict[str, Any]] = Field(description="Steps (see docs/automation.md)")
    goal: dict[str, Any] = Field({}, description="Leave when this rule tree holds")
    reentry: Literal["never", "after", "always"] = "never"
    reentry_days: int = Field(0, ge=0, le=3650)


class AutomationOut(Schema):
    id: int
    name: str
    description: str
    status: str
    trigger: str
    trigger_config: dict[str, Any]
    conditions: dict[str, Any]
    steps: list[dict[str, Any]]
    goal: dict[str, Any]
    reentry: str
    reentry_days: int
    version: int | None
    updated_at: dt.datetime
    enrolled: int = 0
    active: int = 0
    completed: int = 0
    goal_reached: int = 0

    @staticmethod
    def resolve_version(obj: Automation) -> int | None:
        return obj.live.number if obj.live else None


class AutomationRunOut(Schema):
    id: int
    automation_id: int
    customer_id: int
    version: int
    occurrence: int
    status: str
    step: str
    entered_at: dt.datetime
    next_at: dt.datetime | None
    finished_at: dt.datetime | None

    @staticmethod
    def resolve_version(obj: Any) -> int:
        return int(obj.version.number)


class AutomationEnrolIn(Schema):
    customer_id: Id
    check_conditions: bool = True


class AutomationTraceStep(Schema):
    step: str
    type: str
    outcome: str
    detail: dict[str, Any] = {}


class AutomationFilters(Schema):
    status: Literal["", "draft", "active", "paused", "archived"] = ""


def _with_counts(automation_id: int, request: HttpRequest) -> Automation:
    return selectors.automation_list(actor=request.user, status="").filter(
        pk=automation_id).first() or selectors.automation_get(actor=request.user,
                                                              automation_id=automation_id)


@router.get("/automations", response=list[AutomationOut],
            summary="Automations with their run counts (archived ones with status=archived)")
def automations_list(request: HttpRequest, filters: Query[AutomationFilters]) -> Any:
    return list(selectors.automation_list(actor=request.user, status=filters.status))


@router.post("/automations", response={201: AutomationOut},
             summary="Create an automation (a draft; publish it to run it)")
def automations_create(request: HttpRequest, payload: AutomationIn) -> Any:
    automation = services.automation_save(actor=request.user, **payload.dict())
    return Status(201, automation)


@router.get("/automations/{automation_id}", response=AutomationOut, summary="One automation")
def automations_get(request: HttpRequest, automation_id: Id) -> Any:
    return _with_counts(automation_id, request)


@router.put("/automations/{automation_id}", response=AutomationOut,
            summary="Change the draft (runs go on with the published version)")
def automations_update(request: HttpRequest, automation_id: Id, payload: AutomationIn) -> Any:
    automation = selectors.automation_get(actor=request.user, automation_id=automation_id)
    return services.automation_save(actor=request.user, automation=automation,
                                    **payload.dict())


def _verb(request: HttpRequest, automation_id: int, verb: str) -> Any:
    automation = selectors.automation_get(actor=request.user, automation_id=automation_id)
    act = {"publish": services.automation_publish, "pause": services.automation_pause,
           "resume": services.automation_resume, "archive": services.automation_archive}[verb]
    act(actor=request.user, automation=automation)
    return _with_counts(automation_id, request)


@router.post("/automations/{automation_id}/publish", response=AutomationOut,
             summary="Publish the draft as a new version and activate the automation")
def automations_publish(request: HttpRequest, automation_id: Id) -> Any:
    return _verb(request, automation_id, "publish")


@router.post("/automations/{automation_id}/pause", response=AutomationOut,
             summary="Pause: no one enters; runs hold where they are")
def automations_pause(request: HttpRequest, automation_id: Id) -> Any:
    return _verb(request, automation_id, "pause")


@router.post("/automations/{automation_id}/resume", response=AutomationOut,
             summary="Resume a paused automation")
def automations_resume(request: HttpRequest, automation_id: Id) -> Any:
    return _verb(request, automation_id, "resume")


@router.post("/automations/{automation_id}/archive", response=AutomationOut,
             summary="Archive: no one enters; runs end at their next step")
def automations_archive(request: HttpRequest, automation_id: Id) -> Any:
    return _verb(request, automation_id, "archive")


@router.post("/automations/{automation_id}/enrol", response={201: AutomationRunOut},
             summary="Put one customer into an active automation")
def automations_enrol(request: HttpRequest, automation_id: Id, payload: AutomationEnrolIn) -> Any:
    automation = selectors.automation_get(actor=request.user, automation_id=automation_id)
    customer = customer_for_change(actor=request.user, customer_id=payload.customer_id)
    return Status(201, services.automation_enrol(actor=request.user, automation=automation,
                                                 customer=customer,
                                                 check_conditions=payload.check_conditions))


@router.post("/automations/{automation_id}/test/{customer_id}", response=list[AutomationTraceStep],
             summary="What each step would do for one customer now (no side effects)")
def automations_test(request: HttpRequest, automation_id: Id, customer_id: Id) -> Any:
    automation = selectors.automation_get(actor=request.user, automation_id=automation_id)
    customer = customer_for_change(actor=request.user, customer_id=customer_id)
    version = automation.live or AutomationVersion(
        automation=automation, number=0,
        **{f: getattr(automation, f) for f in services.DEFINITION})
    return [{"step": t["step"], "type": t["type"], "outcome": t["outcome"],
             "detail": {k: v for k, v in t.items() if k not in ("step", "type", "outcome")}}
            for t in dry_run(version, customer)]


@router.get("/automations/{automation_id}/runs", response=list[AutomationRunOut],
            summary="The latest runs (customers the caller can see)")
def automations_runs(request: HttpRequest, automation_id: Id) -> Any:
    automation = selectors.automation_get(actor=request.user, automation_id=automation_id)
    return selectors.runs_recent(actor=request.user, automation=automation, limit=200)


@router.get("/customers/{customer_id}/automations", response=list[AutomationRunOut],
            summary="The automations a customer is in or went through")
def customer_runs(request: HttpRequest, customer_id: Id) -> Any:
    customer_for_change(actor=request.user, customer_id=customer_id)
    return selectors.runs_of_customer(actor=request.user, customer_id=customer_id)
