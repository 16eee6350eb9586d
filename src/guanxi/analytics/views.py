"""Pages of the analytics app: the charts, segments with their rule builder, the scoring
settings, and the exports."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from guanxi.analytics import charts, selectors, services
from guanxi.analytics.models import Segment
from guanxi.analytics.permissions import AnalyticsAction
from guanxi.analytics.settings import config_dict
from guanxi.core.errors import Conflict, DomainError, InvalidInput
from guanxi.core.permissions import can, require
from guanxi.core.spreadsheet import csv_download, xlsx_download
from guanxi.customers.permissions import CustomerAction

# A new segment starts with one empty rule that asks for a field.
DEFAULT_RULES: dict[str, Any] = {"op": "and", "rules": [
    {"field": "", "operator": "", "value": None}]}


def _date(raw: str | None, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(raw or "")
    except ValueError:
        return default


def _day_end(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.max))


@login_required
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    start = _date(request.GET.get("from"), today - dt.timedelta(days=30))
    end = _date(request.GET.get("to"), today)
    counts = selectors.score_distribution(actor=request.user)
    segments = list(selectors.segment_list(actor=request.user))
    flows = selectors.stage_flows(actor=request.user, start=_day_end(start),
                                  end=_day_end(end))
    cohorts = selectors.cohort_retention(actor=request.user, months=12)
    options = {
        "stages": charts.stage_chart(counts["stage"]),
        "tiers": charts.tier_chart(counts["tier"], counts["cell"]),
        "rfm": charts.rfm_heatmap(selectors.rfm_grid(actor=request.user)),
        "flows": charts.stage_flow_chart(flows, start, end),
        "cohorts": charts.cohort_chart(cohorts),
    }
    if segments:
        options["segments"] = charts.segment_chart(segments)
    return render(request, "analytics/overview.html", {
        "charts": options, "start": start, "end": end, "scored": sum(counts["stage"].values()),
        "run": selectors.scoring_run_latest(), "has_flows": bool(flows),
        "has_cohorts": bool(cohorts)})


@login_required
@require_GET
def segment_list(request: HttpRequest) -> HttpResponse:
    segments = list(selectors.segment_list(actor=request.user))
    return render(request, "analytics/segments.html", {
        "segments": segments, "can_manage": can(request.user, AnalyticsAction.SEGMENT_MANAGE),
        "chart": charts.segment_chart(segments) if segments else None})


def _builder_context(request: HttpRequest, segment: Segment | None, rules: Any, name: str,
                     errors: list[Any]) -> dict[str, Any]:
    return {"segment": segment, "name": name, "rules": rules, "errors": errors,
            "fields": selectors.segment_builder_fields(),
            "operators": selectors.segment_operator_labels()}


@login_required
def segment_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    require(request.user, AnalyticsAction.SEGMENT_MANAGE)
    segment = selectors.segment_get(actor=request.user, segment_id=pk) if pk else None
    rules: Any = segment.rules if segment else DEFAULT_RULES
    name = segment.name if segment else ""
    errors: list[Any] = []
    if request.method == "POST":
        name = request.POST.get("name", "")
        try:
            rules = json.loads(request.POST.get("rules") or "{}")
        except json.JSONDecodeError:
            errors = [InvalidInput.single("rules", _("The rules could not be read")).errors[0]]
        if not errors:
            try:
                segment = services.segment_save(actor=request.user, name=name, rules=rules,
                                                segment=segment,
                                                purpose=request.POST.get("purpose", ""))
            except DomainError as exc:
                errors = exc.errors or [exc]
            else:
                messages.success(request, _("Segment saved: %(count)s customers.")
                                 % {"count": segment.member_count})
                return redirect("analytics:segment", pk=segment.pk)
    return render(request, "analytics/segment_edit.html",
                  _builder_context(request, segment, rules, name, errors),
                  status=422 if errors else 200)


@login_required
@require_POST
def segment_count(request: HttpRequest) -> JsonResponse:
    """The live count while editing (JSON body: the rule tree)."""
    try:
        rules = json.loads(request.body or b"{}")
        count = selectors.segment_count(actor=request.user, rules=rules)
    except json.JSONDecodeError:
        return JsonResponse({"errors": [{"field": "rules",
                                         "message": _("The rules could not be read")}]},
                            status=422)
    except DomainError as exc:
        return JsonResponse({"errors": [{"field": e.field, "message": e.message}
                                        for e in exc.errors] or [{"message": exc.message}]},
                            status=422)
    return JsonResponse({"count": count})


@login_required
@require_GET
def segment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    segment = selectors.segment_get(actor=request.user, segment_id=pk)
    sizes = selectors.segment_sizes(segment=segment)
    members = selectors.segment_members(actor=request.user, segment_id=pk)
    return render(request, "analytics/segment.html", {
        "segment": segment, "chart": charts.segment_size_chart(sizes),
        "members": members.select_related("score").order_by("-pk")[:50],
        "visible": members.count(), "can_manage": can(request.user, AnalyticsAction.SEGMENT_MANAGE),
        "rules_text": json.dumps(segment.rules, ensure_ascii=False, indent=1)})


@login_required
@require_POST
def segment_refresh(request: HttpRequest, pk: int) -> HttpResponse:
    segment = selectors.segment_get(actor=request.user, segment_id=pk)
    size = services.segment_refresh_now(actor=request.user, segment=segment)
    messages.success(request, _("Refreshed: %(members)s members, %(joined)s joined, "
                                "%(left)s left.") % {"members": size.members,
                                                     "joined": size.joined, "left": size.left})
    return redirect("analytics:segment", pk=pk)


@login_required
@require_POST
def segment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    segment = selectors.segment_get(actor=request.user, segment_id=pk)
    try:
        services.segment_delete(actor=request.user, segment=segment)
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect("analytics:segment", pk=pk)
    messages.success(request, _("Segment deleted."))
    return redirect("analytics:segments")


def _download(request: HttpRequest, rows: Any, stem: str, sheet: str
              ) -> HttpResponse | StreamingHttpResponse:
    if request.GET.get("format") == "xlsx":
        return xlsx_download(rows, f"{stem}.xlsx", sheet=sheet)
    return csv_download(rows, f"{stem}.csv")


@login_required
@require_GET
def scores_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    rows = services.scores_export(actor=request.user, stage=request.GET.get("stage", ""),
                                  tier=request.GET.get("tier", ""),
                                  segment_id=_int(request.GET.get("segment")))
    return _download(request, rows, "customer-scores", _("Scores"))


def _int(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


@login_required
def scoring_settings(request: HttpRequest) -> HttpResponse:
    require(request.user, AnalyticsAction.SCORING_CONFIGURE)
    rfm, lifecycle = selectors.scoring_settings()
    values = {"rfm": config_dict(rfm), "lifecycle": config_dict(lifecycle)}
    errors: list[Any] = []
    if request.method == "POST":
        posted = {group: {key: request.POST.get(f"{group}.{key}", "") for key in values[group]}
                  for group in values}
        try:
            services.scoring_settings_save(actor=request.user, rfm=posted["rfm"],
                                           lifecycle=posted["lifecycle"])
        except DomainError as exc:
            errors = exc.errors or [exc]
            values = posted
        else:
            messages.success(request, _("Settings saved. They apply from the next scoring "
                                        "run."))
            return redirect("analytics:settings")
    error_fields = {getattr(e, "field", "") for e in errors}
    return render(request, "analytics/settings.html", {
        "values": values, "errors": errors, "error_fields": error_fields,
        "run": selectors.scoring_run_latest()}, status=422 if errors else 200)


@login_required
@require_POST
def scoring_start(request: HttpRequest) -> HttpResponse:
    try:
        services.scores_start(actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(request.POST.get("next") or "analytics:settings")


@login_required
@require_GET
def scoring_progress(request: HttpRequest) -> HttpResponse:
    require(request.user, CustomerAction.CUSTOMER_VIEW)
    return render(request, "analytics/_scoring_progress.html",
                  {"run": selectors.scoring_run_latest()})

