"""Writes for imports (the import half of this app's services): upload, configure, run
in the worker with a checkpoint after every chunk, resume, and the error report.

Each row is written inside its own savepoint through the customer services, so a bad
row leaves nothing behind and a good one gets its timeline event and audit entry like
any other change. Rows are matched on the external id (then email, phone, WeChat
UnionID), so importing the same file twice adds nothing."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from guanxi.audit.services import log_action
from guanxi.core import watchdog
from guanxi.core.choices import choice_label
from guanxi.core.dbstats import statistics_refresh_light
from guanxi.core.errors import Conflict, DomainError, FieldError, InvalidInput
from guanxi.core.permissions import Actor, require, staff
from guanxi.core.spreadsheet import safe_cell
from guanxi.core.work import LeaseLost, work_enqueue
from guanxi.customers.models import (
    Channel,
    Gender,
    Language,
    OrderStatus,
    SalesChannel,
    Source,
)
from guanxi.dataquality.fields import field_names, suggest_mapping
from guanxi.dataquality.limits import max_bytes, max_rows
from guanxi.dataquality.models import (
    ImportJob,
    ImportKind,
    ImportPreset,
    JobStatus,
)
from guanxi.dataquality.permissions import DataAction
from guanxi.dataquality.readers import detect_format, inspect_file, read_rows
from guanxi.dataquality.rows import CustomerRow, OrderRow, RowInvalid, customer_row, order_row
from guanxi.dataquality.standardize import MissingPolicy
from guanxi.dataquality.writing import UpdatePolicy, process_rows

logger = logging.getLogger(__name__)


def _import_dir() -> Path:
    path = Path(settings.VAR_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def import_upload(*, actor: Actor, name: str, chunks: Iterator[bytes], size: int,
                  kind: str, enqueue: bool = False) -> ImportJob:
    """Store an uploaded file and open a draft import. The file is read (columns, a
    suggested mapping, the preview's first rows, the limits on hostile files) by the
    worker when `enqueue` (the web page and the API), or here (the CLI's own process)."""
    require(actor, DataAction.DATA_IMPORT)
    if kind not in ImportKind.values:
        raise InvalidInput.single("kind", _("Import customers or orders"), kind)
    fmt = detect_format(name)
    if size > max_bytes():
        raise InvalidInput.single("file", _("The file is %(size)s MB; the limit is %(max)s MB")
                                  % {"size": size // 2**20, "max": max_bytes() // 2**20}, name)
    path = _import_dir() / f"{uuid.uuid4().hex}.{fmt}"
    written = 0
    with path.open("wb") as fh:
        for chunk in chunks:
            written += len(chunk)
            if written > max_bytes():
                fh.close()
                path.unlink(missing_ok=True)
                raise InvalidInput.single("file", _("The file is larger than the %(max)s MB "
                                                    "limit") % {"max": max_bytes() // 2**20},
                                          name)
            fh.write(chunk)
    inspected: dict[str, Any] = {}
    if not enqueue:
        try:
            inspected = _inspect(path, fmt, kind, name)
        except InvalidInput:
            path.unlink(missing_ok=True)
            raise
    job = ImportJob.objects.create(
        kind=kind, original_name=name[:255], stored_path=str(path), file_format=fmt,
        size_bytes=written, mapping=inspected.pop("mapping", {}),
        options={"source": Source.IMPORT, "system": "import", "columns": [],
                 "inspected": not enqueue, **inspected,
                 # reasons in the error report are written in the uploader's language
                 "language": translation.get_language() or settings.LANGUAGE_CODE},
        created_by=staff(actor))
    log_action(actor=actor, action="import.upload", obj=job,
               extra={"file": name, "bytes": written, "kind": kind})
    if enqueue:
        work_enqueue(INSPECT_QUEUE, {"import_id": job.pk}, key=f"import-inspect:{job.pk}")
    return job


def _inspect(path: Path, fmt: str, kind: str, name: str) -> dict[str, Any]:
    columns, sample = inspect_file(path, fmt)
    if not columns:
        raise InvalidInput.single("file", _("The file has no header row or no records"), name)
    return {"columns": columns, "sample": [[n, row] for n, row in sample],
            "mapping": suggest_mapping(kind, columns)}


def import_inspect(job_id: int) -> ImportJob:
    """Worker side of an upload: read the file's columns and first rows within the
    limits; a file that cannot be imported fails the job with the reason."""
    job = ImportJob.objects.get(pk=job_id)
    if job.options.get("inspected", True) or job.status != JobStatus.DRAFT:
        return job
    with translation.override(job.options.get("language") or settings.LANGUAGE_CODE):
        try:
            inspected = _inspect(Path(job.stored_path), job.file_format, job.kind,
                                 job.original_name)
        except InvalidInput as exc:
            Path(job.stored_path).unlink(missing_ok=True)
            _fail(job, str(exc.errors[0].message if exc.errors else exc.message))
            return job
    mapping = inspected.pop("mapping")
    options = {**job.options, **inspected, "inspected": True}
    ImportJob.objects.filter(pk=job.pk, status=JobStatus.DRAFT).update(
        mapping=mapping, options=options)
    job.refresh_from_db()
    return job


def import_repeat(*, actor: Actor, job: ImportJob, start: bool = False) -> ImportJob:
    """A new import of the same file and settings; with `start` (after a dry run:
    "Import for real") it is queued at once, otherwise it is a draft to change."""
    require(actor, DataAction.DATA_IMPORT)
    if not Path(job.stored_path).exists():
        raise Conflict(_("The uploaded file is no longer kept; upload it again"))
    again = ImportJob.objects.create(
        kind=job.kind, original_name=job.original_name, stored_path=job.stored_path,
        file_format=job.file_format, size_bytes=job.size_bytes, mapping=job.mapping,
        options=job.options, created_by=staff(actor))
    return import_start(actor=actor, job=again) if start else again


def _validate_mapping(job: ImportJob, mapping: dict[str, str]) -> list[FieldError]:
    if not job.options.get("inspected", True):
        raise Conflict(_("The file is still being read; try again in a moment"))
    columns = job.options.get("columns", [])
    allowed = set(field_names(job.kind))
    errors = []
    for column, target in mapping.items():
        if column not in columns:
            errors.append(FieldError(f"mapping.{column}", _("The file has no such column"),
                                     column))
        elif target not in allowed:
            errors.append(FieldError(f"mapping.{column}", _("Unknown field"), target))
    targets = set(mapping.values())
    if job.kind == ImportKind.CUSTOMERS and not targets & {"full_name", "family_name",
                                                           "given_name"}:
        errors.append(FieldError("mapping", _("Map a column to the customer's name")))
    if job.kind == ImportKind.ORDERS:
        if "external_id" not in targets:
            errors.append(FieldError("mapping", _("Map a column to the order number")))
        if not targets & {"customer_external_id", "customer_email", "customer_phone"}:
            errors.append(FieldError("mapping", _("Map a column that says whose order it "
                                                  "is")))
    return errors


def import_configure(*, actor: Actor, job: ImportJob, mapping: dict[str, str],
                     options: dict[str, Any] | None = None, dry_run: bool = False,
                     preset_name: str = "") -> ImportJob:
    """Set the column mapping and options (optionally saved as a preset)."""
    require(actor, DataAction.DATA_IMPORT)
    if job.status != JobStatus.DRAFT:
        raise Conflict(_("This import has already started"))
    mapping = {c: f for c, f in mapping.items() if f}
    errors = _validate_mapping(job, mapping)
    options = {**job.options, **(options or {})}
    for target, policy in options.get("missing", {}).items():
        if policy not in MissingPolicy.__members__.values():
            errors.append(FieldError(f"missing.{target}", _("Choose reject, empty or "
                                                            "default"), policy))
    update = options.get("update", {})
    if not isinstance(update, dict):
        errors.append(FieldError("update", _("Give a policy per field"), update))
    else:
        for target, policy in update.items():
            if policy not in UpdatePolicy.ALL:
                errors.append(FieldError(f"update.{target}", _(
                    "Choose fill_empty, overwrite or never"), policy))
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        job.mapping, job.options, job.dry_run = mapping, options, dry_run
        job.save(update_fields=["mapping", "options", "dry_run"])
        if preset_name.strip():
            kept = {k: v for k, v in options.items() if k != "columns"}
            ImportPreset.objects.update_or_create(
                name=preset_name.strip()[:100],
                defaults={"kind": job.kind, "mapping": mapping, "options": kept,
                          "created_by": staff(actor)})
    return job


def preset_apply(*, actor: Actor, job: ImportJob, preset: ImportPreset) -> ImportJob:
    """Use a saved preset's mapping for the columns this file has."""
    if preset.kind != job.kind:
        raise InvalidInput.single("preset", _("This preset is for another kind of import"))
    columns = set(job.options.get("columns", []))
    mapping = {c: f for c, f in preset.mapping.items() if c in columns}
    return import_configure(actor=actor, job=job, mapping=mapping,
                            options=preset.options, dry_run=job.dry_run)


# --- running ------------------------------------------------------------------------

@dataclass
class PreviewRow:
    """One row of the preview: what each mapped value becomes, or why it cannot."""

    number: int
    cells: list[tuple[str, str, str]]  # column, raw value, field
    result: dict[str, Any]
    errors: list[FieldError]


def import_preview(*, actor: Actor, job: ImportJob, limit: int = 10) -> list[PreviewRow]:
    require(actor, DataAction.DATA_IMPORT)
    convert = customer_row if job.kind == ImportKind.CUSTOMERS else order_row
    out = []
    # The rows the worker kept when it read the file: the web process parses nothing.
    for i, (number, raw) in enumerate(job.options.get("sample", [])):
        if i >= limit:
            break
        if "__error__" in raw:
            out.append(PreviewRow(number, [], {}, [FieldError("", raw["__error__"])]))
            continue
        cells = [(c, raw.get(c, ""), f) for c, f in job.mapping.items()]
        try:
            result = _describe(convert(raw, job.mapping, job.options))
            errors: list[FieldError] = []
        except RowInvalid as exc:
            result, errors = {}, exc.errors
        out.append(PreviewRow(number, cells, result, errors))
    return out


_RESULT_LABELS = {
    "name": _l("Name"), "family_name": _l("Family name"), "given_name": _l("Given name"),
    "emails": _l("Email"), "phones": _l("Phone"), "birthday": _l("Birthday"),
    "gender": _l("Gender"), "region": _l("Region"), "occupation": _l("Occupation"),
    "preferred_language": _l("Preferred language"),
    "preferred_channel": _l("Preferred channel"), "address": _l("Address"),
    "tags": _l("Tags"), "external_id": _l("External id"),
    "customer_external_id": _l("Customer number (external id)"),
    "customer_email": _l("Customer email"), "customer_phone": _l("Customer phone"),
    "placed_at": _l("Order date"), "total": _l("Order total"), "currency": _l("Currency"),
    "channel": _l("Sales channel"), "store": _l("Store"), "status": _l("Order status"),
    "sku": _l("SKU"), "product_name": _l("Product name"), "quantity": _l("Quantity"),
    "unit_price": _l("Unit price"),
}


def _shown(field: str, value: Any) -> str:
    """A converted value as the preview shows it: codes as their labels in the viewer's
    language (male → 男)."""
    choices = {"gender": Gender, "preferred_channel": Channel, "preferred_language": Language,
               "channel": SalesChannel, "status": OrderStatus}.get(field)
    if choices is not None:
        return choice_label(choices, value)
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    return str(value)


def _describe(row: CustomerRow | OrderRow) -> dict[str, Any]:
    """What a row becomes, keyed by field name; `result_labels` names them for people."""
    if isinstance(row, CustomerRow):
        return {"name": row.display_name, "family_name": row.family_name,
                "given_name": row.given_name, "emails": ", ".join(row.emails),
                "phones": ", ".join(row.phones),
                **{k: _shown(k, v) for k, v in row.profile.items()},
                "address": " ".join(v for v in row.address.values() if v),
                "tags": ", ".join(row.tags), "external_id": row.external_id}
    return {k: _shown(k, v) for k, v in vars(row).items() if v not in ("", None)}


def result_labels() -> dict[str, Any]:
    return _RESULT_LABELS


def import_start(*, actor: Actor, job: ImportJob, enqueue: bool = True) -> ImportJob:
    """Queue a configured import for the worker (the CLI passes enqueue=False and runs
    it in its own process, with a progress bar)."""
    require(actor, DataAction.DATA_IMPORT)
    errors = _validate_mapping(job, job.mapping)
    if errors:
        raise InvalidInput(errors)
    updated = ImportJob.objects.filter(pk=job.pk, status=JobStatus.DRAFT).update(
        status=JobStatus.QUEUED)
    if not updated:
        raise Conflict(_("This import has already started"))
    job.refresh_from_db()
    log_action(actor=actor, action="import.start", obj=job,
               extra={"mapping": job.mapping, "dry_run": job.dry_run})
    if enqueue:
        work_enqueue(RUN_QUEUE, {"import_id": job.pk})
    return job


def import_resume(*, actor: Actor, job: ImportJob, enqueue: bool = True,
                  stalled_after_s: float | None = None) -> ImportJob:
    """Put a failed or stalled import back in the queue; it continues after the last
    row it committed. (The CLI, resuming a run someone stopped, passes 0 seconds.)"""
    require(actor, DataAction.DATA_IMPORT)
    stale = timezone.now() - dt.timedelta(
        seconds=watchdog.STALE_S if stalled_after_s is None else stalled_after_s)
    resumable = ImportJob.objects.filter(pk=job.pk).filter(
        status__in=[JobStatus.FAILED]) | ImportJob.objects.filter(
        pk=job.pk, status=JobStatus.RUNNING, heartbeat_at__lt=stale)
    if not resumable.update(status=JobStatus.QUEUED, error=""):
        raise Conflict(_("Only a failed or stalled import can be resumed"))
    job.refresh_from_db()
    log_action(actor=actor, action="import.resume", obj=job, extra={"from_row": job.rows_done})
    if enqueue:
        work_enqueue(RUN_QUEUE, {"import_id": job.pk})
    return job


def _count_rows(job: ImportJob) -> int:
    count = 0
    for _row in read_rows(Path(job.stored_path), job.file_format):
        count += 1
        if count > max_rows():
            raise InvalidInput.single("file", _("The file has more than %(max)s rows; split "
                                                "it into smaller files")
                                      % {"max": f"{max_rows():,}"}, job.original_name)
    return count


def import_run(job_id: int, *, progress: Callable[[int, int], None] | None = None,
               taken_over: bool = False,
               checkpoint: Callable[[], None] | None = None) -> ImportJob:
    """Process a queued import. Claims the job atomically, so two runs never process the
    same import; commits a checkpoint after every chunk. `taken_over`: the worker's
    work item was claimed after the previous worker died (its lease ran out), so a
    running import continues after its last checkpoint."""
    states = [JobStatus.QUEUED, JobStatus.RUNNING] if taken_over else [JobStatus.QUEUED]
    claimed = ImportJob.objects.filter(pk=job_id, status__in=states).update(
        status=JobStatus.RUNNING, heartbeat_at=timezone.now())
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if not claimed:
        return job  # another worker got there first, or it is not queued
    actor = job.created_by

    def beat() -> None:
        ImportJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
            heartbeat_at=timezone.now())

    try:
        with translation.override(job.options.get("language") or settings.LANGUAGE_CODE), \
                watchdog.heartbeat(beat):
            if job.started_at is None:
                job.started_at = timezone.now()
            if job.total_rows is None:
                job.total_rows = _count_rows(job)
            job.save(update_fields=["started_at", "total_rows"])
            process_rows(job, actor, progress, checkpoint)
    except DomainError as exc:
        _fail(job, str(exc.errors[0].message if exc.errors else exc.message))
        return job
    except LeaseLost:
        raise  # another worker has the import now; this one just stops
    except Exception:
        # Our defect, not the file's: the traceback goes to the worker's log, the page
        # says so in words and offers to resume after the last checkpoint.
        logger.exception("import %s failed", job.pk)
        with translation.override(job.options.get("language") or settings.LANGUAGE_CODE):
            _fail(job, _("An unexpected error stopped the import after row %(n)s; the "
                         "details are in the worker's log. Resume it to continue.")
                  % {"n": job.rows_done})
        raise
    ImportJob.objects.filter(pk=job.pk).update(status=JobStatus.DONE,
                                               finished_at=timezone.now())
    job.refresh_from_db()
    if not job.dry_run and job.created + job.updated >= 1000:
        statistics_refresh_light()  # the planner learns the new table sizes now
    log_action(actor=actor, action="import.finish", obj=job, extra={
        "created": job.created, "updated": job.updated, "unchanged": job.unchanged,
        "failed": job.failed, "dry_run": job.dry_run})
    return job


def _fail(job: ImportJob, message: str) -> None:
    ImportJob.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, error=message[:2000],
                                               finished_at=timezone.now())
    job.refresh_from_db()


# --- reports ------------------------------------------------------------------------

def import_errors_rows(*, actor: Actor, job: ImportJob) -> Iterator[list[str]]:
    """The report: header, then per problem the row, column, field, value, reason and
    whether the row was rejected or imported without that value; the row's original
    cells follow on its first line, so the report can be fixed and imported again."""
    require(actor, DataAction.DATA_IMPORT)
    columns = [str(c) for c in job.options.get("columns", [])]
    yield [_("row"), _("column"), _("field"), _("value"), _("reason"), _("outcome"),
           *(safe_cell(c) for c in columns)]
    rejected, kept = _("row not imported"), _("imported without this value")
    for e in job.row_errors.order_by("row", "pk").iterator(2000):
        original = [safe_cell(e.raw.get(c, "")) for c in columns] if e.raw else []
        yield [str(e.row), safe_cell(e.column), e.field, safe_cell(e.value),
               safe_cell(e.reason), kept if e.warning else rejected, *original]


# --- worker side (durable work handlers, registered in DataQualityConfig.ready()) -------

RUN_QUEUE = "dataquality.import"
INSPECT_QUEUE = "dataquality.import_inspect"


def import_run_work(item: Any, ctx: Any) -> dict[str, Any]:
    """A claimed work item runs its import; the item's lease (renewed by heartbeat) is
    what keeps a second worker out and what hands a dead worker's import to another."""
    job = ImportJob.objects.filter(pk=item.payload["import_id"]).first()
    if job is None:
        return {"skipped": "gone"}

    try:
        job = import_run(job.pk, progress=ctx.progress, taken_over=item.attempts > 1,
                         checkpoint=ctx.renew)
    except LeaseLost:
        raise
    except Exception:
        # already logged, and the job says in words what happened (resume continues it)
        return {"status": JobStatus.FAILED}
    return {"status": job.status, "created": job.created, "updated": job.updated}


def import_inspect_work(item: Any, ctx: Any) -> dict[str, Any]:
    job = import_inspect(item.payload["import_id"])
    return {"status": job.status}


def import_work_dead(item: Any, reason: str) -> None:
    """The import's work item gave up (its workers kept dying): the job says so."""
    job = ImportJob.objects.filter(pk=item.payload["import_id"],
                                   status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).first()
    if job is not None:
        with translation.override(job.options.get("language") or settings.LANGUAGE_CODE):
            _fail(job, _("The import stopped after row %(n)s because its worker kept "
                         "stopping; resume it to continue.") % {"n": job.rows_done})
