"""Staff pages for imports, the duplicate review queue and merges."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.http import require_GET, require_POST

from guanxi.core.errors import DomainError
from guanxi.core.permissions import require
from guanxi.core.spreadsheet import csv_download
from guanxi.customers.models import Source
from guanxi.dataquality import importing, selectors, services
from guanxi.dataquality.fields import FIELDS_BY_KIND
from guanxi.dataquality.models import (
    ImportJob,
    ImportKind,
    JobStatus,
    MatchStatus,
)
from guanxi.dataquality.permissions import DataAction
from guanxi.dataquality.standardize import MissingPolicy
from guanxi.dataquality.writing import UpdatePolicy


def _error_text(exc: DomainError) -> str:
    return "; ".join(f"{e.message}" + (f" ({e.value})" if e.value not in (None, "") else "")
                     for e in exc.errors) or exc.message


# --- imports ------------------------------------------------------------------------

@login_required
def import_list(request: HttpRequest) -> HttpResponse:
    require(request.user, DataAction.DATA_IMPORT)
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            error = _("Choose a file to upload")
        else:
            try:
                job = importing.import_upload(actor=request.user, name=upload.name or "",
                                              chunks=upload.chunks(), size=upload.size or 0,
                                              kind=request.POST.get("kind", "customers"),
                                              enqueue=True)
            except DomainError as exc:
                error = _error_text(exc)
            else:
                return redirect("dataquality:import", pk=job.pk)
    jobs = selectors.import_list(actor=request.user)
    return render(request, "dataquality/imports.html", {
        "jobs": jobs, "error": error, "kinds": ImportKind.choices,
        "max_mb": importing.max_bytes() // 2**20, "max_rows": importing.max_rows()},
        status=422 if error else 200)


def _mapping_from_post(request: HttpRequest, job: ImportJob) -> dict[str, str]:
    columns = job.options.get("columns", [])
    return {c: request.POST.get(f"map-{i}", "") for i, c in enumerate(columns)}


def _options_from_post(request: HttpRequest) -> dict:
    missing = {k[8:]: v for k, v in request.POST.items()
               if k.startswith("missing-") and v and v != MissingPolicy.EMPTY}
    defaults = {k[8:]: v for k, v in request.POST.items() if k.startswith("default-") and v}
    update = {k[7:]: v for k, v in request.POST.items()
              if k.startswith("update-") and v and v != UpdatePolicy.FILL_EMPTY}
    options = {"source": request.POST.get("source") or Source.IMPORT,
               "system": (request.POST.get("system") or "import").strip()[:40],
               "day_first": request.POST.get("day_first", "1") == "1",
               "missing": missing, "defaults": defaults, "update": update}
    tags = [t.strip() for t in request.POST.get("tags", "").split(",") if t.strip()]
    if tags:
        options["tags"] = tags
    return options


def _import_context(request: HttpRequest, job: ImportJob, **extra) -> dict:
    fields = FIELDS_BY_KIND[job.kind]
    context = {
        "job": job, "fields": fields,
        "columns": list(enumerate(job.options.get("columns", []))),
        "presets": selectors.preset_list(actor=request.user, kind=job.kind),
        "sources": Source.choices, "policies": MissingPolicy,
        "update_policies": [
            (UpdatePolicy.FILL_EMPTY, _("fill empty fields only")),
            (UpdatePolicy.OVERWRITE, _("overwrite")),
            (UpdatePolicy.NEVER, _("never change"))],
        "mapped_fields": [f for f in fields if f.name in job.mapping.values()],
        "labels": importing.result_labels(),
    }
    if job.status == JobStatus.DRAFT and job.mapping:
        try:
            context["preview"] = importing.import_preview(actor=request.user, job=job)
        except DomainError as exc:
            context["preview_error"] = _error_text(exc)
    context.update(extra)
    return context


@login_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = selectors.import_get(actor=request.user, job_id=pk)
    errors: list = []
    if request.method == "POST" and job.status == JobStatus.DRAFT:
        action = request.POST.get("action", "preview")
        try:
            if action == "preset":
                raw_id = request.POST.get("preset", "")
                if raw_id.isdigit():
                    preset = selectors.preset_get(actor=request.user, preset_id=int(raw_id))
                    job = importing.preset_apply(actor=request.user, job=job, preset=preset)
            else:
                job = importing.import_configure(
                    actor=request.user, job=job, mapping=_mapping_from_post(request, job),
                    options=_options_from_post(request),
                    dry_run=request.POST.get("dry_run") == "1",
                    preset_name=request.POST.get("preset_name", ""))
                if action == "start":
                    importing.import_start(actor=request.user, job=job)
                    return redirect("dataquality:import", pk=job.pk)
        except DomainError as exc:
            errors = exc.errors or [exc]
            job.mapping = _mapping_from_post(request, job)
    context = _import_context(request, job, errors=errors)
    template = ("dataquality/_import_setup.html"
                if request.headers.get("HX-Request") == "true" and request.method == "POST"
                else "dataquality/import.html")
    return render(request, template, context, status=422 if errors else 200)


@login_required
@require_GET
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    job = selectors.import_get(actor=request.user, job_id=pk)
    return render(request, "dataquality/_import_progress.html", {"job": job})


@login_required
@require_POST
def import_resume(request: HttpRequest, pk: int) -> HttpResponse:
    job = selectors.import_get(actor=request.user, job_id=pk)
    try:
        importing.import_resume(actor=request.user, job=job)
    except DomainError as exc:
        messages.error(request, _error_text(exc))
    return redirect("dataquality:import", pk=pk)


@login_required
@require_POST
def import_again(request: HttpRequest, pk: int) -> HttpResponse:
    job = selectors.import_get(actor=request.user, job_id=pk)
    # "Import for real" after a dry run: the same file and settings, started at once
    again = importing.import_repeat(actor=request.user, job=job, start=job.dry_run)
    return redirect("dataquality:import", pk=again.pk)


@login_required
@require_GET
def import_errors(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    job = selectors.import_get(actor=request.user, job_id=pk)
    return csv_download(importing.import_errors_rows(actor=request.user, job=job),
                        f"import-{job.pk}-errors.csv")


# --- duplicates and merges ----------------------------------------------------------

@login_required
@require_GET
def duplicate_list(request: HttpRequest) -> HttpResponse:
    pairs = selectors.candidate_list(actor=request.user)
    page = Paginator(pairs, 50).get_page(request.GET.get("page"))
    run = selectors.resolution_run_get(actor=request.user)
    return render(request, "dataquality/duplicates.html", {"page": page, "run": run})


@login_required
@require_POST
def resolution_start(request: HttpRequest) -> HttpResponse:
    try:
        services.resolution_start(actor=request.user)
    except DomainError as exc:
        messages.error(request, _error_text(exc))
    return redirect("dataquality:duplicates")


@login_required
@require_GET
def resolution_progress(request: HttpRequest, pk: int) -> HttpResponse:
    run = selectors.resolution_run_get(actor=request.user, run_id=pk)
    return render(request, "dataquality/_resolution_progress.html", {"run": run})


FIELD_LABELS = {
    "family_name": _l("Family name"), "given_name": _l("Given name"),
    "birthday": _l("Birthday"), "email": _l("Email"), "phone": _l("Phone"),
    "external_id": _l("External id"), "street": _l("Street"), "postcode": _l("Postcode"),
    "city": _l("City"), "region": _l("Region"),
}


@login_required
def duplicate_review(request: HttpRequest, pk: int) -> HttpResponse:
    candidate = selectors.candidate_get(actor=request.user, candidate_id=pk)
    if request.method == "POST":
        decision = request.POST.get("decision", "")
        try:
            if decision == "distinct":
                services.candidate_decide(actor=request.user, candidate=candidate,
                                          same_person=False)
                messages.success(request, _("Remembered: these are different people."))
            elif decision in ("keep_left", "keep_right"):
                keep = candidate.left_id if decision == "keep_left" else candidate.right_id
                merge = services.candidate_decide(actor=request.user, candidate=candidate,
                                                  same_person=True, survivor_id=keep)
                messages.success(request, _("Merged into #%(id)s. You can undo this under "
                                            "Merges.") % {"id": keep})
                if merge is not None and request.POST.get("next") == "customer":
                    return redirect("customers:detail", pk=keep)
        except DomainError as exc:
            messages.error(request, _error_text(exc))
        following = selectors.candidate_list(actor=request.user).first()
        if following is not None:
            return redirect("dataquality:review", pk=following.pk)
        return redirect("dataquality:duplicates")
    reasons = [{**r, "label": FIELD_LABELS.get(r["field"], r["field"]),
                "width": min(100, abs(r["weight"]) * 6)} for r in candidate.explanation]
    return render(request, "dataquality/review.html", {
        "candidate": candidate, "left": selectors.candidate_side(customer=candidate.left),
        "right": selectors.candidate_side(customer=candidate.right),
        "reasons": reasons, "pending": candidate.status == MatchStatus.PENDING})


@login_required
@require_GET
def merge_list(request: HttpRequest) -> HttpResponse:
    merges = selectors.merge_list(actor=request.user)
    page = Paginator(merges, 50).get_page(request.GET.get("page"))
    return render(request, "dataquality/merges.html", {"page": page})


@login_required
@require_POST
def merge_undo(request: HttpRequest, pk: int) -> HttpResponse:
    merge = selectors.merge_get(actor=request.user, merge_id=pk)
    try:
        restored = services.merge_undo(actor=request.user, merge=merge)
    except DomainError as exc:
        messages.error(request, _error_text(exc))
        return redirect("dataquality:merges")
    messages.success(request, _("Merge undone: #%(id)s %(name)s is back.")
                     % {"id": restored.pk, "name": restored.display_name})
    return redirect("dataquality:merges")
