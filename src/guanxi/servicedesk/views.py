"""Pages of the service desk.

Staff: the ticket views (mine, unassigned, queues, due soon, breached…) with SLA timers,
a ticket with its thread, reply (macros, collision check), internal notes, corrections,
assignment and merging beside the customer's 360 summary and suggested articles; a new
ticket (a phone call); the "% SLA met" report; the knowledge base; surveys and their
results; the bot's conversation log; the desk's settings.

Customers (no account): the help centre with its search and the FAQ bot, an article, the
web form (with suggested articles as they type), the portal of a ticket and the survey
page — the last two reached by signed links."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from guanxi.core.errors import DomainError, FieldError, InvalidInput
from guanxi.core.permissions import can, require
from guanxi.customers.selectors import customer_get
from guanxi.servicedesk import clocks, kb, macros, selectors, services, surveys
from guanxi.servicedesk.models import (
    ACTIVE,
    AgentProfile,
    Article,
    ArticleStatus,
    Attachment,
    Category,
    Channel,
    Invitation,
    Language,
    Macro,
    MessageKind,
    Priority,
    Queue,
    SlaPolicy,
    Status,
    SubStatus,
    Survey,
    SurveyKind,
    Ticket,
    Turn,
)
from guanxi.servicedesk.permissions import DeskAction


def _int(raw: Any) -> int:
    """A posted id (0 when missing or not a number: matches no row)."""
    try:
        return int(raw)
    except (TypeError, ValueError):
        return 0


def _files(request: HttpRequest) -> list[services.NewAttachment]:
    return [services.NewAttachment(f.name or "file", f.content_type or "", f.read())
            for f in request.FILES.getlist("attachments")[:10]]


# --- tickets ------------------------------------------------------------------------------

@login_required
def ticket_list(request: HttpRequest) -> HttpResponse:
    require(request.user, DeskAction.VIEW)
    view = request.GET.get("view") or ("mine" if can(request.user, DeskAction.WORK)
                                       else "open")
    if view not in selectors.VIEWS:
        view = "open"
    queue = _int(request.GET.get("queue")) or None
    q = request.GET.get("q", "")
    found = selectors.tickets_view(request.user, view, queue=queue, q=q,
                                   priority=request.GET.get("priority", ""))
    page = Paginator(found, 50).get_page(request.GET.get("page"))
    page.object_list = selectors.with_timers(
        selectors.mask_tickets(request.user, page.object_list))
    return render(request, "servicedesk/tickets.html", {
        "page": page, "view": view, "queue": queue, "q": q,
        "counts": selectors.counts(request.user), "queues": Queue.objects.all(),
        "views": [(v, label) for v, label in view_labels()],
        "can_work": can(request.user, DeskAction.WORK)})


def view_labels() -> list[tuple[str, str]]:
    return [("mine", _("My tickets")), ("unassigned", _("Unassigned")),
            ("open", _("All open")), ("due_soon", _("Due within 2 hours")),
            ("breached", _("Breached")), ("pending", _("Pending customer")),
            ("solved", _("Solved and closed")), ("all", _("Everything"))]


def _ticket(request: HttpRequest, pk: int) -> Ticket:
    ticket = selectors.ticket_get(request.user, pk)
    if ticket is None:
        raise Http404
    return ticket


def _ticket_context(request: HttpRequest, ticket: Ticket, **extra: Any) -> dict[str, Any]:
    thread = selectors.mask_texts(request.user, ticket.messages.select_related("author")
                                  .prefetch_related("attachments"), "body")
    suggestions = []
    first = next((m for m in thread if m.kind == MessageKind.CUSTOMER), None)
    language = ticket.customer.preferred_language \
        if ticket.customer.preferred_language in Language.values else "zh-hans"
    try:
        for hit in kb.search(f"{ticket.subject} {first.body[:300] if first else ''}",
                             language, limit=3):
            suggestions.append(hit)
    except DomainError:
        pass
    from guanxi.accounts.models import User

    customer = customer_get(actor=request.user, customer_id=ticket.customer_id)
    selectors.mask_tickets(request.user, [ticket])
    return {"ticket": ticket, "thread": thread, "customer": customer,
            "last_id": thread[-1].pk if thread else 0,
            "timers": selectors.timers([ticket.pk]).get(ticket.pk, []),
            "macros": Macro.objects.all(), "categories": Category.objects.all(),
            "queues": Queue.objects.all(), "priorities": Priority.choices,
            "statuses": Status.choices, "sub_statuses": SubStatus.objects.all(),
            "agents": User.objects.filter(is_active=True, role__in=("service", "manager"))
            .order_by("username"),
            "suggestions": suggestions, "can_work": can(request.user, DeskAction.WORK),
            "other_tickets": selectors.mask_tickets(request.user, Ticket.objects.filter(
                customer_id=ticket.customer_id).exclude(pk=ticket.pk).order_by("-pk")[:5]),
            "portal_url": surveys.portal_url(ticket),
            "reply_statuses": [(s, label) for s, label in Status.choices
                               if s in (Status.PENDING, Status.OPEN, Status.HOLD,
                                        Status.SOLVED)],
            **extra}


@login_required
def ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _ticket(request, pk)
    extra: dict[str, Any] = {}
    macro = Macro.objects.filter(pk=_int(request.GET.get("macro"))).first() \
        if request.GET.get("macro") else None
    if macro is not None:
        extra["draft"] = macros.macro_render(macro, ticket, request.user)
        extra["draft_status"] = macro.set_status or Status.PENDING
        extra["macro"] = macro
    return render(request, "servicedesk/ticket.html", _ticket_context(request, ticket,
                                                                       **extra))


@login_required
@require_POST
def ticket_act(request: HttpRequest, pk: int) -> HttpResponse:
    """Every form of the ticket page posts here with `do`: reply, note, update, status,
    merge."""
    ticket = _ticket(request, pk)
    do = request.POST.get("do", "")
    p = request.POST
    try:
        if do == "reply":
            seen = None if p.get("force") else _int(p.get("seen"))
            macro = Macro.objects.filter(pk=_int(p.get("macro"))).first() \
                if p.get("macro") else None
            if macro is not None:  # the macro's text as the agent edited it
                macros.macro_apply(actor=request.user, ticket=ticket, macro=macro, seen=seen,
                                   body=p.get("body", ""), status=p.get("status") or None)
            else:
                services.ticket_reply(actor=request.user, ticket=ticket,
                                      body=p.get("body", ""),
                                      status=p.get("status") or Status.PENDING, seen=seen)
            flash.success(request, _("Reply sent."))
        elif do == "note":
            services.ticket_note(actor=request.user, ticket=ticket, body=p.get("body", ""))
            flash.success(request, _("Note added."))
        elif do == "update":
            from guanxi.accounts.models import User

            services.ticket_update(
                actor=request.user, ticket=ticket, priority=p.get("priority") or None,
                category=Category.objects.filter(pk=_int(p.get("category"))).first(),
                is_complaint=p.get("is_complaint") == "on",
                assignee=User.objects.filter(pk=_int(p.get("assignee"))).first(),
                queue=Queue.objects.filter(pk=_int(p.get("queue"))).first())
            flash.success(request, _("Ticket updated."))
        elif do == "status":
            sub = SubStatus.objects.filter(pk=_int(p.get("sub_status"))).first()
            services.ticket_set_status(actor=request.user, ticket=ticket,
                                       status=p.get("status", ""), sub_status=sub)
            flash.success(request, _("Status changed."))
        elif do == "merge":
            target = selectors.ticket_get(request.user, _int(p.get("target")))
            if target is None:
                raise InvalidInput.single("target", _("No such ticket"), p.get("target"))
            services.ticket_merge(actor=request.user, source=ticket, target=target)
            flash.success(request, _("Merged into #%(id)d.") % {"id": target.pk})
            return redirect("servicedesk:ticket", target.pk)
        elif do == "follow_up":
            task = get_object_or_404(ticket.follow_ups, pk=_int(p.get("task")))
            services.follow_up_done(actor=request.user, task=task, note=p.get("note", ""))
            flash.success(request, _("Follow-up done."))
        else:
            raise InvalidInput.single("do", _("Unknown action"), do)
    except services.Collision as exc:
        ticket.refresh_from_db()
        return render(request, "servicedesk/ticket.html", _ticket_context(
            request, ticket, collision=str(exc.message), draft=p.get("body", ""),
            draft_status=p.get("status")), status=409)
    except DomainError as exc:
        ticket.refresh_from_db()
        return render(request, "servicedesk/ticket.html", _ticket_context(
            request, ticket, errors=exc.as_fields(), draft=p.get("body", ""), form=do),
            status=exc.status if exc.status in (400, 409, 422) else 400)
    return redirect("servicedesk:ticket", ticket.pk)


@login_required
def attachment(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(Attachment.objects.select_related("message__ticket"), pk=pk)
    _ticket(request, item.message.ticket_id)
    response = HttpResponse(bytes(item.data), content_type="application/octet-stream")
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(item.name)}"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


@login_required
def ticket_new(request: HttpRequest) -> HttpResponse:
    """An agent opens a ticket for a customer: a phone call logged, or an email by hand."""
    require(request.user, DeskAction.WORK)
    customer_id = _int(request.GET.get("customer") or request.POST.get("customer"))
    customer = customer_get(actor=request.user, customer_id=customer_id) \
        if customer_id else None
    errors: list[FieldError] = []
    if request.method == "POST":
        try:
            if customer is None:
                raise InvalidInput.single("customer", _("Choose the customer"))
            ticket = services.ticket_open(
                actor=request.user, customer=customer, subject=request.POST.get("subject", ""),
                body=request.POST.get("body", ""),
                channel=request.POST.get("channel") or Channel.PHONE,
                priority=request.POST.get("priority", ""), attachments=_files(request))
            return redirect("servicedesk:ticket", ticket.pk)
        except DomainError as exc:
            errors = exc.as_fields()
    return render(request, "servicedesk/ticket_new.html", {
        "customer": customer, "errors": errors, "posted": request.POST,
        "channels": [(c, label) for c, label in Channel.choices
                     if c in (Channel.PHONE, Channel.EMAIL, Channel.WECHAT, Channel.AGENT)],
        "priorities": Priority.choices}, status=422 if errors else 200)


@login_required
def sla_report(request: HttpRequest) -> HttpResponse:
    by = request.GET.get("by", "month")
    since = _date(request.GET.get("since"))
    rows = selectors.sla_report(request.user, by, since=since)
    return render(request, "servicedesk/sla_report.html", {
        "rows": rows, "by": by, "groups": [
            ("month", _("Month")), ("team", _("Team")), ("agent", _("Agent")),
            ("priority", _("Priority")), ("metric", _("Target"))],
        "since": since})


def _date(raw: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(raw)) if raw else None
    except ValueError:
        return None


# --- knowledge base (staff) -------------------------------------------------------------

@login_required
def article_list(request: HttpRequest) -> HttpResponse:
    require(request.user, DeskAction.VIEW)
    q = request.GET.get("q", "")
    language = request.GET.get("language") or "zh-hans"
    if language not in Language.values:
        language = "zh-hans"
    if q.strip():
        hits = kb.search(q, language, limit=30)
        by_id = {a.pk: a for a in Article.objects.filter(pk__in=[h.article_id for h in hits])}
        articles = [by_id[h.article_id] for h in hits if h.article_id in by_id]
    else:
        articles = list(Article.objects.all()[:200])
    return render(request, "servicedesk/articles.html", {
        "articles": articles, "q": q, "language": language, "language_choices": Language.choices,
        "can_edit": can(request.user, DeskAction.KB)})


@login_required
def article_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    require(request.user, DeskAction.KB)
    article = get_object_or_404(Article, pk=pk) if pk else None
    errors: list[FieldError] = []
    if request.method == "POST":
        questions = [q for q in request.POST.get("questions", "").splitlines() if q.strip()]
        try:
            article = kb.article_save(
                actor=request.user, article=article, title=request.POST.get("title", ""),
                body=request.POST.get("body", ""), language=request.POST.get("language", ""),
                category=request.POST.get("category", ""), questions=questions,
                publish=request.POST.get("publish") == "1")
            flash.success(request, _("Article published.") if request.POST.get("publish")
                          == "1" else _("Draft saved."))
            return redirect("servicedesk:article_edit", article.pk)
        except DomainError as exc:
            errors = exc.as_fields()
    return render(request, "servicedesk/article_edit.html", {
        "article": article, "errors": errors, "posted": request.POST if errors else None,
        "language_choices": Language.choices,
        "versions": article.versions.all()[:10] if article else []},
        status=422 if errors else 200)


@login_required
@require_POST
def article_archive(request: HttpRequest, pk: int) -> HttpResponse:
    kb.article_archive(actor=request.user, article=get_object_or_404(Article, pk=pk))
    flash.success(request, _("Article archived."))
    return redirect("servicedesk:articles")


@login_required
def bot_log(request: HttpRequest) -> HttpResponse:
    require(request.user, DeskAction.VIEW)
    if request.method == "POST":
        turn = get_object_or_404(Turn, pk=_int(request.POST.get("turn")))
        right = Article.objects.filter(pk=_int(request.POST.get("right"))).first()
        try:
            kb.turn_mark_wrong(actor=request.user, turn=turn, right=right)
            flash.success(request, _("Thank you: the bot learns from it."))
        except DomainError as exc:
            flash.error(request, exc.for_people())
        return redirect("servicedesk:bot_log")
    turns = Turn.objects.select_related("conversation", "article").order_by("-pk")
    if request.GET.get("unknown"):
        turns = turns.filter(article__isnull=True)
    page = Paginator(turns, 50).get_page(request.GET.get("page"))
    page.object_list = selectors.mask_texts(request.user, page.object_list, "question")
    return render(request, "servicedesk/bot_log.html", {
        "page": page, "articles": Article.objects.filter(status=ArticleStatus.PUBLISHED),
        "can_edit": can(request.user, DeskAction.KB), "unknown": request.GET.get("unknown")})


# --- surveys (staff) --------------------------------------------------------------------

@login_required
def survey_list(request: HttpRequest) -> HttpResponse:
    require(request.user, DeskAction.VIEW)
    errors: list[FieldError] = []
    if request.method == "POST":
        try:
            survey = surveys.survey_save(
                actor=request.user, name=request.POST.get("name", ""),
                kind=request.POST.get("kind", ""),
                questions=request.POST.get("questions", "").splitlines(),
                after_tickets=request.POST.get("after_tickets") == "on")
            return redirect("servicedesk:survey", survey.pk)
        except DomainError as exc:
            errors = exc.as_fields()
    return render(request, "servicedesk/surveys.html", {
        "rows": selectors.survey_rows(request.user), "errors": errors, "kinds": SurveyKind.choices,
        "can_manage": can(request.user, DeskAction.MANAGE)}, status=422 if errors else 200)


@login_required
def survey_detail(request: HttpRequest, pk: int) -> HttpResponse:
    survey = get_object_or_404(Survey, pk=pk)
    errors: list[FieldError] = []
    if request.method == "POST":
        try:
            segment = _int(request.POST.get("segment"))
            if not segment:
                raise InvalidInput.single("segment", _("Choose a segment"))
            n = surveys.invite_segment(actor=request.user, survey=survey, segment_id=segment)
            flash.success(request, _("%(n)d invitations queued.") % {"n": n})
            return redirect("servicedesk:survey", survey.pk)
        except DomainError as exc:
            errors = exc.as_fields()
    result = surveys.results(actor=request.user, survey=survey,
                             since=_date(request.GET.get("since")))
    band = request.GET.get("band", "")
    answered = (survey.invitations.filter(answered_at__isnull=False)
                .select_related("customer", "ticket").order_by("-answered_at"))
    if band in surveys.SCORES:
        answered = answered.filter(score__range=surveys.SCORES[band])
    answers = list(answered[:100])
    from guanxi.analytics.models import Segment

    return render(request, "servicedesk/survey.html", {
        "survey": survey, "r": result,
        "answers": selectors.mask_texts(request.user, answers, "comment"), "band": band,
        "band_label": surveys.band_label(band),
        "errors": errors, "segments": Segment.objects.all(),
        "chart": {"tooltip": {"trigger": "axis"},
                  "xAxis": {"type": "category", "data": [t[0] for t in result.trend]},
                  "yAxis": {"type": "value"},
                  "series": [{"type": "line", "name": survey.get_kind_display(),
                              "data": [t[1] for t in result.trend]}]},
        "can_manage": can(request.user, DeskAction.MANAGE)})


# --- settings ---------------------------------------------------------------------------

@login_required
def desk_settings(request: HttpRequest) -> HttpResponse:
    from guanxi.servicedesk import setup

    require(request.user, DeskAction.MANAGE)
    errors: list[FieldError] = []
    section = request.POST.get("section", "")
    if request.method == "POST":
        try:
            setup.apply(actor=request.user, section=section, data=request.POST)
            flash.success(request, _("Saved."))
            return redirect(reverse("servicedesk:settings") + f"#{section}")
        except DomainError as exc:
            errors = exc.as_fields()
    from guanxi.accounts.models import Team, User
    from guanxi.analytics.models import Tier

    s = clocks.desk_settings()
    return render(request, "servicedesk/settings.html", {
        "s": s, "hours_json": json.dumps(s.hours, ensure_ascii=False),
        "closures": "\n".join(s.closures or []), "errors": errors, "section": section,
        "queues": Queue.objects.select_related("team"), "teams": Team.objects.all(),
        "categories": Category.objects.select_related("queue"),
        "policies": SlaPolicy.objects.select_related("category"),
        "macros": Macro.objects.all(), "sub_statuses": SubStatus.objects.all(),
        "agents": AgentProfile.objects.select_related("user").prefetch_related("queues"),
        "staff": User.objects.filter(is_active=True).order_by("username"),
        "priorities": Priority.choices, "statuses": Status.choices, "tiers": Tier.choices,
        "variables": macros.MACRO_VARIABLES}, status=422 if errors else 200)


# --- customers: help centre, web form, portal, survey -------------------------------------

def _language(request: HttpRequest) -> str:
    code = translation.get_language() or "zh-hans"
    return "en" if code.startswith("en") else "zh-hans"


def help_centre(request: HttpRequest) -> HttpResponse:
    language = request.GET.get("language") or _language(request)
    if language not in Language.values:
        language = "zh-hans"
    q = request.GET.get("q", "")[:200]
    hits = kb.search(q, language, limit=10) if q.strip() else []
    latest = kb._latest(language)
    categories: dict[str, list[Any]] = {}
    for v in latest[:300]:
        categories.setdefault(v.article.category or _("General"), []).append(v)
    return render(request, "servicedesk/help.html", {
        "q": q, "hits": hits, "categories": sorted(categories.items()),
        "language": language})


def help_article(request: HttpRequest, pk: int) -> HttpResponse:
    version = kb.published(pk)
    if version is None:
        raise Http404
    return render(request, "servicedesk/help_article.html", {"v": version})


def help_suggest(request: HttpRequest) -> HttpResponse:
    """Articles that may answer what the customer is typing (htmx, from the web form)."""
    q = request.GET.get("subject", "")[:300] + " " + request.GET.get("body", "")[:300]
    hits = kb.search(q, _language(request), limit=3) if q.strip() else []
    return render(request, "servicedesk/_suggest.html", {"hits": hits})


def help_form(request: HttpRequest) -> HttpResponse:
    errors: list[FieldError] = []
    if request.method == "POST":
        p = request.POST
        try:
            ticket = services.ticket_open(
                actor=None, subject=p.get("subject", ""), body=p.get("body", ""),
                channel=Channel.WEB, attachments=_files(request),
                contact=services.Contact(name=p.get("name", ""), email=p.get("email", ""),
                                         phone=p.get("phone", ""),
                                         language=_language(request)))
            if p.get("surveys") == "on":
                from guanxi.customers.services import consent_set_by_customer

                consent_set_by_customer(customer=ticket.customer, channel="email",
                                        purpose="surveys", granted=True,
                                        source="service desk web form")
            return redirect(surveys.portal_path(ticket) + "?new=1")
        except DomainError as exc:
            errors = exc.as_fields()
    return render(request, "servicedesk/help_form.html", {
        "errors": errors, "posted": request.POST}, status=422 if errors else 200)


def _portal_ticket(token: str) -> Ticket:
    key = surveys.unsign("portal", token, max_days=3650)
    return selectors.ticket_for_key(key)


def portal(request: HttpRequest, token: str) -> HttpResponse:
    ticket = _portal_ticket(token)
    errors: list[FieldError] = []
    if request.method == "POST":
        try:
            services.portal_reply(ticket=ticket, body=request.POST.get("body", ""),
                                  attachments=_files(request))
            return redirect(request.path)
        except DomainError as exc:
            errors = exc.as_fields()
    thread = [m for m in ticket.messages.prefetch_related("attachments")
              if m.kind != MessageKind.NOTE]
    invitation = ticket.invitations.filter(answered_at__isnull=True).first() \
        if ticket.status in (Status.SOLVED, Status.CLOSED) else None
    others = [(t, surveys.portal_url(t)) for t in Ticket.objects.filter(
        customer_id=ticket.customer_id, merged_into__isnull=True).exclude(pk=ticket.pk)
        .order_by("-pk")[:10]]
    return render(request, "servicedesk/portal.html", {
        "ticket": ticket, "thread": thread, "errors": errors, "new": request.GET.get("new"),
        "survey_url": surveys.survey_url(invitation) if invitation else "",
        "others": others, "active": ticket.status in ACTIVE}, status=422 if errors else 200)


@csrf_exempt  # WeChat POSTs; its signature authenticates the call
def wechat_callback(request: HttpRequest) -> HttpResponse:
    from guanxi.servicedesk import wechat

    token = clocks.desk_settings().wechat_token
    if not wechat.verified(token, request.GET):
        return HttpResponse("invalid signature", status=403, content_type="text/plain")
    if request.method == "GET":
        return HttpResponse(request.GET.get("echostr", ""), content_type="text/plain")
    if request.method != "POST":
        return HttpResponse(status=405)
    try:
        reply = wechat.handle(request.body)
    except (ValueError, DomainError):  # malformed XML or a message we cannot file
        reply = "success"
    return HttpResponse(reply, content_type="application/xml; charset=utf-8")


def survey_page(request: HttpRequest, token: str) -> HttpResponse:
    key = surveys.unsign("survey", token)
    invitation = Invitation.objects.select_related("survey", "customer").filter(
        key=key).first()
    if invitation is None:
        raise Http404
    errors: list[FieldError] = []
    language = invitation.customer.preferred_language
    with translation.override(language if language in Language.values else "zh-hans"):
        if request.method == "POST" and invitation.answered_at is None:
            answers = [request.POST.get(f"q{i}") for i in range(len(invitation.survey
                                                                   .questions))]
            try:
                services.survey_answer(invitation, score=request.POST.get("score"),
                               answers=[a for a in answers if a not in (None, "")],
                               comment=request.POST.get("comment", ""))
                return redirect(request.path)
            except DomainError as exc:
                errors = exc.as_fields()
        low, high = (0, 10) if invitation.survey.kind == SurveyKind.NPS else (1, 5)
        return render(request, "servicedesk/survey_page.html", {
            "inv": invitation, "errors": errors, "scale": list(range(low, high + 1)),
            "csat_scale": list(range(1, 6))}, status=422 if errors else 200)
