"""Pages of the analytics app."""

from __future__ import annotations

import csv
import itertools

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, StreamingHttpResponse
from django.views.decorators.http import require_GET

from guanxi.analytics.services import scores_export


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
@require_GET
def scores_csv(request: HttpRequest) -> StreamingHttpResponse:
    rows = scores_export(actor=request.user, stage=request.GET.get("stage", ""),
                         tier=request.GET.get("tier", ""))
    writer = csv.writer(_Echo())
    header = writer.writerow(next(rows))  # permission check and audit happen here
    body = itertools.chain(["\ufeff", header], (writer.writerow(r) for r in rows))
    response = StreamingHttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="customer-scores.csv"'
    return response
