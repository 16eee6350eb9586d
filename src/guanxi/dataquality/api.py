"""REST endpoints for imports, the duplicate review queue and merges."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import File, Form, Query, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status
from pydantic import Field

from guanxi.core.apitypes import Id, Limit
from guanxi.core.errors import NotFound
from guanxi.customers.selectors import customer_for_change
from guanxi.dataquality import importing, selectors, services
from guanxi.dataquality.models import MatchStatus

router = Router(tags=["data quality"])


class ImportOut(Schema):
    id: int
    kind: str
    original_name: str
    file_format: str
    size_bytes: int
    status: str
    dry_run: bool
    mapping: dict[str, str]
    columns: list[str] = Field(description="the file's column headings")
    total_rows: int | None
    rows_done: int
    percent: int
    created: int
    updated: int
    unchanged: int
    failed: int
    warned: int
    inspected: bool = Field(description="the worker has read the file's columns")
    error: str
    created_at: dt.datetime
    finished_at: dt.datetime | None

    @staticmethod
    def resolve_columns(obj: Any) -> list[str]:
        return list(obj.options.get("columns", []))


class ImportConfigIn(Schema):
    mapping: dict[str, str] = Field(description="file column -> Guanxi field")
    source: str = "import"
    system: str = Field("import", description="the system the external ids come from")
    day_first: bool = True
    missing: dict[str, str] = Field(default_factory=dict,
                                    description="field -> reject | empty | default")
    defaults: dict[str, str] = Field(default_factory=dict)
    update: dict[str, str] = Field(
        default_factory=dict, description="field -> fill_empty (default) | overwrite | never: "
        "what a row does to a customer who already exists")
    tags: list[str] = Field(default_factory=list)
    dry_run: bool = False
    preset_name: str = ""
    preset: str = Field("", description="apply a saved preset instead of `mapping`")


class PreviewRowOut(Schema):
    row: int
    values: dict[str, str]
    result: dict[str, Any]
    errors: list[dict[str, Any]]


class RowErrorOut(Schema):
    row: int
    column: str
    field: str
    value: str
    reason: str
    warning: bool = Field(description="true: the row was imported without this value")
    raw: dict[str, Any] = Field(description="the row's original cells (on its first problem)")


class CandidateOut(Schema):
    id: int
    left_id: Id
    right_id: Id
    left_name: str
    right_name: str
    probability: float
    weight: float
    explanation: list[dict[str, Any]]
    status: str

    @staticmethod
    def resolve_left_name(obj: Any) -> str:
        return obj.left.display_name

    @staticmethod
    def resolve_right_name(obj: Any) -> str:
        return obj.right.display_name


class DecisionIn(Schema):
    same_person: bool
    keep_id: Id | None = Field(None, description="the customer to keep when merging")


class MergeIn(Schema):
    other_id: Id = Field(description="the customer merged into this one")


class MergeOut(Schema):
    id: int
    survivor_number: int
    absorbed_number: int
    absorbed_name: str
    automatic: bool
    probability: float | None
    merged_at: dt.datetime
    undone_at: dt.datetime | None


class RunOut(Schema):
    id: int
    status: str
    step: str
    summary: dict[str, Any]
    error: str
    created_at: dt.datetime
    finished_at: dt.datetime | None


@router.post("/imports", response={201: ImportOut},
             summary="Upload a CSV, XLSX or JSON file to import",
             description="The worker then reads the file: poll GET /imports/{id} until "
                         "`inspected` is true (columns and a suggested mapping are set) "
                         "or `status` is failed (`error` says why).")
def imports_upload(request: HttpRequest, file: File[UploadedFile],
                   kind: Form[str] = "customers") -> Any:
    job = importing.import_upload(actor=request.user, name=file.name or "upload",
                                  chunks=file.chunks(), size=file.size or 0, kind=kind,
                                  enqueue=True)
    return Status(201, job)


@router.get("/imports/{import_id}", response=ImportOut, summary="An import and its progress")
def imports_get(request: HttpRequest, import_id: Id) -> Any:
    return selectors.import_get(actor=request.user, job_id=import_id)


@router.put("/imports/{import_id}", response=ImportOut,
            summary="Set the column mapping and options of a draft import")
def imports_configure(request: HttpRequest, import_id: Id, payload: ImportConfigIn) -> Any:
    job = selectors.import_get(actor=request.user, job_id=import_id)
    if payload.preset:
        preset = selectors.preset_get(actor=request.user, name=payload.preset)
        return importing.preset_apply(actor=request.user, job=job, preset=preset)
    options = payload.dict(include={"source", "system", "day_first", "missing", "defaults",
                                    "update", "tags"})
    return importing.import_configure(actor=request.user, job=job, mapping=payload.mapping,
                                      options=options, dry_run=payload.dry_run,
                                      preset_name=payload.preset_name)


@router.get("/imports/{import_id}/preview", response=list[PreviewRowOut],
            summary="The first rows as they would be imported")
def imports_preview(request: HttpRequest, import_id: Id, limit: Limit = 10) -> Any:
    job = selectors.import_get(actor=request.user, job_id=import_id)
    rows = importing.import_preview(actor=request.user, job=job, limit=min(limit, 100))
    return [{"row": r.number, "values": {c: v for c, v, _f in r.cells}, "result": r.result,
             "errors": [{"field": e.field, "message": e.message, "value": e.value}
                        for e in r.errors]} for r in rows]


@router.post("/imports/{import_id}/start", response={202: ImportOut},
             summary="Run the import in the worker")
def imports_start(request: HttpRequest, import_id: Id) -> Any:
    job = selectors.import_get(actor=request.user, job_id=import_id)
    return Status(202, importing.import_start(actor=request.user, job=job))


@router.post("/imports/{import_id}/resume", response={202: ImportOut},
             summary="Continue a failed or stalled import after its last checkpoint")
def imports_resume(request: HttpRequest, import_id: Id) -> Any:
    job = selectors.import_get(actor=request.user, job_id=import_id)
    return Status(202, importing.import_resume(actor=request.user, job=job))


class ErrorFilters(Schema):
    after_row: int = 0
    limit: int = Field(500, ge=1, le=5000)


@router.get("/imports/{import_id}/errors", response=list[RowErrorOut],
            summary="Rows that were not imported, and why (page with after_row)")
def imports_errors(request: HttpRequest, import_id: Id, filters: Query[ErrorFilters]) -> Any:
    job = selectors.import_get(actor=request.user, job_id=import_id)
    return list(job.row_errors.filter(row__gt=filters.after_row)[:filters.limit])


@router.get("/duplicates", response=list[CandidateOut],
            summary="Pairs waiting for review, most likely first")
def duplicates_list(request: HttpRequest, limit: Limit = 100) -> Any:
    return list(selectors.candidate_list(actor=request.user)[:min(limit, 1000)])


@router.post("/duplicates/{candidate_id}/decision", response={200: MergeOut | None},
             summary="Merge the pair or remember they are different people")
def duplicates_decide(request: HttpRequest, candidate_id: Id, payload: DecisionIn) -> Any:
    candidate = selectors.candidate_get(actor=request.user, candidate_id=candidate_id)
    if candidate.status != MatchStatus.PENDING:
        raise NotFound("Pair not found")
    return services.candidate_decide(actor=request.user, candidate=candidate,
                                     same_person=payload.same_person,
                                     survivor_id=payload.keep_id)


@router.post("/duplicates/search", response={202: RunOut},
             summary="Look for duplicates among all customers (in the worker)")
def duplicates_search(request: HttpRequest) -> Any:
    return Status(202, services.resolution_start(actor=request.user))


@router.get("/duplicates/search/{run_id}", response=RunOut)
def duplicates_search_get(request: HttpRequest, run_id: Id) -> Any:
    run = selectors.resolution_run_get(actor=request.user, run_id=run_id)
    if run is None:
        raise NotFound("Run not found")
    return run


@router.post("/customers/{customer_id}/merge", response={201: MergeOut},
             summary="Merge another customer into this one")
def customers_merge(request: HttpRequest, customer_id: Id, payload: MergeIn) -> Any:
    survivor = customer_for_change(actor=request.user, customer_id=customer_id)
    absorbed = customer_for_change(actor=request.user, customer_id=payload.other_id)
    return Status(201, services.customers_merge(actor=request.user, survivor=survivor,
                                                absorbed=absorbed))


@router.get("/merges", response=list[MergeOut], summary="Merges, newest first")
def merges_list(request: HttpRequest, customer_id: Id | None = None, limit: Limit = 100) -> Any:
    return list(selectors.merge_list(actor=request.user, customer_id=customer_id)
                [:min(limit, 1000)])


@router.post("/merges/{merge_id}/undo", response={200: dict},
             summary="Undo a merge: the merged customer comes back as it was")
def merges_undo(request: HttpRequest, merge_id: Id) -> Any:
    merge = selectors.merge_get(actor=request.user, merge_id=merge_id)
    restored = services.merge_undo(actor=request.user, merge=merge)
    return {"restored_id": restored.pk, "survivor_id": merge.survivor_number}
