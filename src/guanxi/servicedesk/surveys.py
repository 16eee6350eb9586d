"""CSAT and NPS surveys: invitations (after a solved ticket, or to a segment as a
campaign) sent through engagement's outbox under its send policy, the customer's one
answer per invitation, a low CSAT score reopening the ticket, and the results with
their formulas, trend and comment themes.

CSAT = answers scoring 4 or 5 / answers (%); NPS = (promoters 9–10 − detractors 0–6) /
answers × 100. Links are signed (django.core.signing, timestamped): a link changed by
hand, or older than LINK_DAYS, opens nothing."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, override

from guanxi.audit.services import log_action
from guanxi.core.errors import Conflict, FieldError, InvalidInput, NotFound
from guanxi.core.permissions import Actor, require
from guanxi.servicedesk.models import Invitation, Survey, SurveyKind, Ticket
from guanxi.servicedesk.permissions import DeskAction
from guanxi.timeline.services import event_append

LINK_DAYS = 60
_CONTACTLIKE = re.compile(r"\d{3,}|@")
COMMENT_MAX = 2000
QUESTION_MAX = 5


def sign(kind: str, key: str) -> str:
    return signing.TimestampSigner(salt=f"servicedesk.{kind}").sign(key)


def unsign(kind: str, token: str, max_days: int = LINK_DAYS) -> str:
    try:
        return signing.TimestampSigner(salt=f"servicedesk.{kind}").unsign(
            token, max_age=dt.timedelta(days=max_days))
    except signing.BadSignature as exc:
        raise NotFound(_("This link is not valid (or too old)")) from exc


def survey_url(invitation: Invitation) -> str:
    return f"{settings.GUANXI_PUBLIC_URL}/help/s/{sign('survey', invitation.key)}"


def portal_path(ticket: Ticket) -> str:
    return f"/help/t/{sign('portal', ticket.portal_key)}"


def portal_url(ticket: Ticket) -> str:
    return f"{settings.GUANXI_PUBLIC_URL}{portal_path(ticket)}"


def survey_save(*, actor: Actor, name: str, kind: str, questions: Sequence[str] = (),
                after_tickets: bool = False, survey: Survey | None = None) -> Survey:
    require(actor, DeskAction.MANAGE)
    errors = []
    if not name.strip():
        errors.append(FieldError("name", _("Give the survey a name")))
    if kind not in SurveyKind.values:
        errors.append(FieldError("kind", _("Unknown kind"), kind))
    qs = [q.strip() for q in questions if q.strip()]
    if len(qs) > QUESTION_MAX:
        errors.append(FieldError("questions", _("At most %(n)d more questions")
                                 % {"n": QUESTION_MAX}))
    if qs and kind == SurveyKind.NPS:
        errors.append(FieldError("questions", _("An NPS survey asks one question")))
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        if after_tickets and kind == SurveyKind.CSAT:
            Survey.objects.filter(after_tickets=True).update(after_tickets=False)
        survey = survey or Survey()
        survey.name, survey.kind, survey.questions = name.strip(), kind, qs
        survey.after_tickets = after_tickets and kind == SurveyKind.CSAT
        survey.save()
        log_action(actor=actor, action="survey.save", obj=survey)
    return survey


def _queue(invitations: Sequence[Invitation], survey: Survey) -> int:
    """One survey message per invitation through the outbox (purpose: surveys, so the
    customer's consent and the frequency cap apply), in their language."""
    from guanxi.customers.models import Customer
    from guanxi.engagement.models import MessageChannel, Purpose
    from guanxi.engagement.outbox import Draft, queue_messages

    languages = dict(Customer.objects.filter(pk__in=[i.customer_id for i in invitations])
                     .values_list("pk", "preferred_language"))
    drafts = []
    for inv in invitations:
        with override(languages.get(inv.customer_id) or "zh-hans"):
            if survey.kind == SurveyKind.NPS:
                subject = _("How likely are you to recommend us?")
            else:
                subject = _("How did we do?")
            body = _("Please take a minute to tell us: %(url)s") % {"url": survey_url(inv)}
        drafts.append(Draft(key=f"survey:{inv.pk}", customer_id=inv.customer_id,
                            channel=MessageChannel.EMAIL, purpose=Purpose.SURVEYS,
                            origin="survey", origin_id=survey.pk,
                            subject=subject.replace("{", "(").replace("}", ")"),
                            body=body.replace("{", "(").replace("}", ")")))
    return queue_messages(drafts)


def after_ticket_survey() -> Survey | None:
    return Survey.objects.filter(after_tickets=True, kind=SurveyKind.CSAT).first()


def invite_after_ticket(ticket: Ticket) -> Invitation | None:
    """The desk's after-ticket CSAT survey, once per ticket (the portal shows it too)."""
    survey = after_ticket_survey()
    if survey is None:
        return None
    inv, created = Invitation.objects.get_or_create(
        survey=survey, ticket=ticket,
        defaults={"customer_id": ticket.customer_id, "key": secrets.token_urlsafe(18)})
    if created:
        _queue([inv], survey)
    return inv


def invite_customers(*, actor: Actor, survey: Survey, customer_ids: Sequence[int]) -> int:
    """A survey campaign: one invitation (and message) per customer, in one go."""
    require(actor, DeskAction.MANAGE)
    ids = sorted(set(customer_ids))
    now = timezone.now()
    with transaction.atomic():
        rows = [Invitation(survey=survey, customer_id=c, key=secrets.token_urlsafe(18),
                           created_at=now) for c in ids]
        Invitation.objects.bulk_create(rows, batch_size=1000)
        made = list(Invitation.objects.filter(survey=survey, created_at=now,
                                              customer_id__in=ids))
        for i in range(0, len(made), 1000):
            _queue(made[i:i + 1000], survey)
        log_action(actor=actor, action="survey.send", obj=survey,
                   extra={"customers": len(made)})
    return len(made)


def invite_segment(*, actor: Actor, survey: Survey, segment_id: int) -> int:
    from guanxi.analytics.selectors import segment_members

    ids = list(segment_members(actor=actor, segment_id=segment_id)
               .values_list("pk", flat=True))
    return invite_customers(actor=actor, survey=survey, customer_ids=ids)


def _score_range(survey: Survey) -> tuple[int, int]:
    return (0, 10) if survey.kind == SurveyKind.NPS else (1, 5)


def answer(invitation: Invitation, *, score: Any, answers: Sequence[Any] = (),
           comment: str = "") -> Invitation:
    """Record the customer's answer: once per invitation (a second is refused).
    (services.survey_answer also reopens the ticket on a low CSAT score.)"""
    survey = invitation.survey
    low, high = _score_range(survey)
    errors = []

    def as_score(value: Any, field: str) -> int | None:
        try:
            n = int(value)
        except (TypeError, ValueError):
            errors.append(FieldError(field, _("Choose a score"), value))
            return None
        if not low <= n <= high:
            errors.append(FieldError(field, _("A score from %(low)d to %(high)d")
                                     % {"low": low, "high": high}, value))
        return n

    main = as_score(score, "score")
    extra = [as_score(v, f"answers.{i}") for i, v in enumerate(answers)]
    if len(extra) > len(survey.questions):
        errors.append(FieldError("answers", _("More answers than questions")))
    if len(comment) > COMMENT_MAX:
        errors.append(FieldError("comment", _("At most %(n)d characters") % {"n": COMMENT_MAX}))
    if errors:
        raise InvalidInput(errors)
    now = timezone.now()
    with transaction.atomic():
        done = Invitation.objects.filter(pk=invitation.pk, answered_at__isnull=True).update(
            answered_at=now, score=main, answers=extra, comment=comment.strip())
        if not done:
            raise Conflict(_("This survey was answered already. Thank you!"),
                           field_name="score")
        invitation.refresh_from_db()
        event_append(customer_id=invitation.customer_id, kind="survey_answered",
                     occurred_at=now, source="servicedesk",
                     data={"survey": survey.pk, "kind": survey.kind, "score": main,
                           "ticket": invitation.ticket_id or 0, "comment": comment[:500]})
    return invitation


# --- results ----------------------------------------------------------------------------

@dataclass
class Results:
    survey: Survey
    responses: int
    invited: int
    value: float | None  # CSAT % or NPS
    average: float | None
    bands: dict[str, int]
    trend: list[tuple[str, float | None, int]]
    themes: dict[str, list[tuple[str, int]]]
    questions: list[tuple[str, float | None]]

    @property
    def band_rows(self) -> list[tuple[str, str, int]]:
        return [(code, band_label(code), n) for code, n in self.bands.items()]

    @property
    def theme_rows(self) -> list[tuple[str, list[tuple[str, int]]]]:
        return [(band_label(code), words) for code, words in self.themes.items()]


BANDS = {"promoter": gettext_lazy("promoters (9–10)"), "passive": gettext_lazy("passives (7–8)"),
         "detractor": gettext_lazy("detractors (0–6)"),
         "satisfied": gettext_lazy("satisfied (4–5)"), "neutral": gettext_lazy("neutral (3)"),
         "unsatisfied": gettext_lazy("unsatisfied (1–2)")}


def band_label(code: str) -> str:
    return str(BANDS.get(code, code))


SCORES = {"promoter": (9, 10), "passive": (7, 8), "detractor": (0, 6),
          "satisfied": (4, 5), "neutral": (3, 3), "unsatisfied": (1, 2)}


def band(kind: str, score: int) -> str:
    if kind == SurveyKind.NPS:
        return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
    return "satisfied" if score >= 4 else "neutral" if score == 3 else "unsatisfied"


def value_of(kind: str, scores: Sequence[int]) -> float | None:
    if not scores:
        return None
    if kind == SurveyKind.NPS:
        promoters = sum(s >= 9 for s in scores)
        detractors = sum(s <= 6 for s in scores)
        return round((promoters - detractors) / len(scores) * 100, 1)
    return round(sum(s >= 4 for s in scores) / len(scores) * 100, 1)


def results(*, actor: Actor, survey: Survey, since: dt.date | None = None,
            until: dt.date | None = None) -> Results:
    from guanxi.servicedesk.text import words

    require(actor, DeskAction.VIEW)
    q = Q(survey=survey)
    if since:
        q &= Q(created_at__date__gte=since)
    if until:
        q &= Q(created_at__date__lte=until)
    invited = Invitation.objects.filter(q).count()
    answered = Invitation.objects.filter(q, answered_at__isnull=False)
    rows = list(answered.values_list("score", "comment", "answers"))
    scores = [s for s, _c, _a in rows if s is not None]
    bands: Counter[str] = Counter(band(survey.kind, s) for s in scores)
    months: dict[str, list[int]] = {}
    for score, at in answered.values_list("score", "answered_at"):
        if score is not None and at is not None:
            months.setdefault(timezone.localtime(at).strftime("%Y-%m"), []).append(score)
    trend = [(m, value_of(survey.kind, ms), len(ms)) for m, ms in sorted(months.items())]
    themes: dict[str, list[tuple[str, int]]] = {}
    by_band: dict[str, Counter[str]] = {}
    for s, comment, _a in rows:
        if s is not None and comment:
            # themes are words: numbers and addresses (contacts) are left out
            by_band.setdefault(band(survey.kind, s), Counter()).update(
                {w for w in words(comment) if not _CONTACTLIKE.search(w)})
    for name, counter in by_band.items():
        themes[name] = counter.most_common(10)
    questions = []
    for i, text in enumerate(survey.questions):
        vals: list[int] = [a[i] for _s, _c, a in rows if isinstance(a, list) and len(a) > i
                           and a[i] is not None]
        questions.append((text, round(sum(vals) / len(vals), 2) if vals else None))
    return Results(survey, len(scores), invited, value_of(survey.kind, scores),
                   round(sum(scores) / len(scores), 2) if scores else None, dict(bands),
                   trend, themes, questions)
