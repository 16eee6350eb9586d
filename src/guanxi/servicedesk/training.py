"""The classifier with the desk's data: predictions for a new ticket (the trained model
when there is one, the keyword rules otherwise) and the nightly training on solved tickets
(classify.py holds the maths)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from guanxi.servicedesk import classify
from guanxi.servicedesk.models import Category, ClassifierModel, MessageKind, Status, Ticket


def _models() -> dict[str, Any]:
    import pickle

    row = ClassifierModel.objects.only("pk", "blob").first()
    if row is None:
        return {}
    cached = _MODEL_CACHE.get(row.pk)
    if cached is None:
        _MODEL_CACHE.clear()
        cached = _MODEL_CACHE[row.pk] = pickle.loads(bytes(row.blob))  # noqa: S301 (ours)
    return cached


_MODEL_CACHE: dict[int, dict[str, Any]] = {}


def predict(subject: str, body: str) -> classify.Prediction:
    categories = [(pk, list(kw or [])) for pk, kw in
                  Category.objects.values_list("pk", "keywords")]
    text = f"{subject}\n{body}"
    fallback = classify.rules(text, categories)
    models = _models()
    if not models:
        return fallback
    got = classify.predict(models, text, fallback)
    if got.category_id is not None and got.category_id not in {pk for pk, _k in categories}:
        got = classify.Prediction(fallback.category_id, got.priority, got.complaint, "model")
    return got


def classifier_train() -> ClassifierModel | None:
    """Fit the classifier on solved and closed tickets (their final category, priority
    and complaint flag, an agent's corrections included) once there are enough."""
    rows = []
    for subject, body, category, priority, complaint in (
            Ticket.objects.filter(status__in=(Status.SOLVED, Status.CLOSED),
                                  merged_into__isnull=True)
            .order_by("-pk").values_list("subject", "messages__body", "category_id",
                                         "priority", "is_complaint")
            .filter(messages__kind=MessageKind.CUSTOMER)[:20_000]):
        rows.append((f"{subject}\n{body}", str(category or ""), priority, complaint))
    seen: set[str] = set()
    rows = [r for r in rows if not (r[0] in seen or seen.add(r[0]))]  # type: ignore[func-returns-value]
    if len(rows) < classify.MIN_TICKETS:
        return None
    blob, scores = classify.train(rows)
    with transaction.atomic():
        ClassifierModel.objects.all().delete()
        return ClassifierModel.objects.create(tickets=len(rows), blob=blob, scores=scores)
