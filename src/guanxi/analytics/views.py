"""Pages of the analytics app."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, StreamingHttpResponse
from django.views.decorators.http import require_GET

from guanxi.analytics.services import scores_export
from guanxi.core.spreadsheet import csv_download


@login_required
@require_GET
def scores_csv(request: HttpRequest) -> StreamingHttpResponse:
    return csv_download(scores_export(actor=request.user, stage=request.GET.get("stage", ""),
                                      tier=request.GET.get("tier", "")),
                        "customer-scores.csv")
