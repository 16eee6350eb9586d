"""REST endpoints of the service desk: tickets and their messages, survey results and
invitations, knowledge-base articles, and the FAQ bot. Token scope `servicedesk:read` /
`servicedesk:write`.

Two calls are a stable contract for integrators: `POST /api/v1/kb/articles` (title,
body, language, optional questions → 201 with the article's `id`, published) and
`POST /api/v1/bot/ask` (question, language → answer, article_id, confidence,
candidates, handoff). The bot's two calls need no token (the web widget on a public site
calls them) and are rate limited per address."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.responses import Status
from ninja.throttling import AnonRateThrottle

from guanxi.core.apitypes import Id, Limit
from guanxi.core.errors import NotFound
from guanxi.core.permissions import require
from guanxi.customers.selectors import customer_get
from guanxi.servicedesk import kb, selectors, services, surveys
from guanxi.servicedesk.models import Article, Category, Survey
from guanxi.servicedesk.permissions import DeskAction

router = Router(tags=["service desk"])
public = Router(tags=["FAQ bot"], auth=None)


class TicketIn(Schema):
    customer_id: Id | None = Field(None, description="A customer you can see, or …")
    email: str = Field("", max_length=254, description="… the sender's email / phone")
    phone: str = Field("", max_length=40)
    name: str = Field("", max_length=100)
    subject: str = Field(max_length=200)
    body: str = Field(max_length=50_000)
    channel: str = Field("api", description="api, phone, email, web, wechat")
    priority: str = Field("", description="low, normal, high, urgent; empty: predicted")
    category_id: Id | None = None


class TicketOut(Schema):
    id: int
    subject: str
    customer_id: int
    channel: str
    status: str
    priority: str
    category_id: int | None
    is_complaint: bool
    classified_by: str
    queue_id: int | None
    assignee_id: int | None
    merged_into_id: int | None
    created_at: dt.datetime
    first_response_at: dt.datetime | None
    solved_at: dt.datetime | None


class TicketPatch(Schema):
    status: str | None = None
    priority: str | None = None
    category_id: Id | None = None
    is_complaint: bool | None = None
    assignee_id: Id | None = None


class MessageIn(Schema):
    body: str = Field(max_length=50_000)
    internal: bool = Field(False, description="An internal note the customer never sees")
    status: str = Field("pending", description="The ticket's status after a reply")
    seen_message_id: Id | None = Field(
        None, description="The last message you read: newer public messages make this "
                          "409 (collision) instead of replying")


class TicketMessageOut(Schema):
    id: int
    kind: str
    author_id: int | None
    channel: str
    body: str
    created_at: dt.datetime


class ArticleIn(Schema):
    title: str = Field(max_length=200)
    body: str = Field(max_length=100_000)
    language: str = Field(description="zh-hans or en")
    questions: list[str] = Field(default_factory=list, max_length=50,
                                 description="Alternative phrasings the article answers")
    category: str = Field("", max_length=80)
    publish: bool = Field(True, description="Publish at once (else a draft)")


class ArticleOut(Schema):
    id: int
    title: str
    body: str
    language: str
    category: str
    questions: list[str]
    status: str
    version: int


class AskIn(Schema):
    question: str = Field(max_length=1000)
    language: str = Field(description="zh-hans or en")
    conversation: str = Field("", max_length=40,
                              description="The key of an earlier answer's conversation")


class AskOut(Schema):
    answer: str | None
    article_id: int | None
    confidence: float = Field(ge=0, le=1)
    candidates: list[int]
    handoff: bool
    conversation: str


class HandoffIn(Schema):
    conversation: str = Field(max_length=40)
    email: str = Field("", max_length=254)
    phone: str = Field("", max_length=40)
    name: str = Field("", max_length=100)
    text: str = Field("", max_length=5000)


class HandoffOut(Schema):
    ticket_id: int


class SurveyResultOut(Schema):
    survey_id: int
    kind: str
    invited: int
    responses: int
    value: float | None = Field(description="CSAT: % scoring 4–5; NPS: % promoters − % "
                                            "detractors")
    average: float | None
    bands: dict[str, int]


class SlaRow(Schema):
    group: str | None
    total: int
    met: int
    percent: float | None


def _ticket(request: HttpRequest, ticket_id: int) -> Any:
    ticket = selectors.ticket_get(request.user, ticket_id)
    if ticket is None:
        raise NotFound("Ticket not found")
    return ticket


@router.get("/tickets", response=list[TicketOut], summary="Tickets (a view of them)")
def tickets_list(request: HttpRequest, view: str = "open", status: str = "",
                 q: str = "", limit: Limit = 100) -> Any:
    if view not in selectors.VIEWS:
        view = "open"
    return selectors.mask_tickets(request.user, selectors.tickets_view(
        request.user, view, status=status, q=q)[:min(limit, 500)])


@router.post("/tickets", response={201: TicketOut}, summary="Open a ticket")
def tickets_create(request: HttpRequest, payload: TicketIn) -> Any:
    require(request.user, DeskAction.WORK)
    customer = customer_get(actor=request.user, customer_id=payload.customer_id) \
        if payload.customer_id else None
    category = Category.objects.filter(pk=payload.category_id).first() \
        if payload.category_id else None
    contact = None if customer else services.Contact(name=payload.name, email=payload.email,
                                                     phone=payload.phone)
    ticket = services.ticket_open(actor=request.user, subject=payload.subject,
                                  body=payload.body, channel=payload.channel,
                                  customer=customer, contact=contact,
                                  priority=payload.priority, category=category)
    return Status(201, ticket)


@router.get("/tickets/{ticket_id}", response=TicketOut, summary="One ticket")
def tickets_get(request: HttpRequest, ticket_id: Id) -> Any:
    return selectors.mask_tickets(request.user, [_ticket(request, ticket_id)])[0]


@router.patch("/tickets/{ticket_id}", response=TicketOut,
              summary="Change status, priority, category, complaint flag or assignee")
def tickets_update(request: HttpRequest, ticket_id: Id, payload: TicketPatch) -> Any:
    from guanxi.accounts.models import User

    ticket = _ticket(request, ticket_id)
    fields = payload.model_fields_set
    kwargs: dict[str, Any] = {}
    if "priority" in fields and payload.priority is not None:
        kwargs["priority"] = payload.priority
    if "is_complaint" in fields and payload.is_complaint is not None:
        kwargs["is_complaint"] = payload.is_complaint
    if "category_id" in fields:
        kwargs["category"] = Category.objects.filter(pk=payload.category_id).first() \
            if payload.category_id else None
        if payload.category_id and kwargs["category"] is None:
            raise NotFound("Category not found")
    if "assignee_id" in fields:
        kwargs["assignee"] = User.objects.filter(pk=payload.assignee_id).first() \
            if payload.assignee_id else None
        if payload.assignee_id and kwargs["assignee"] is None:
            raise NotFound("Staff user not found")
    if kwargs:
        ticket = services.ticket_update(actor=request.user, ticket=ticket, **kwargs)
    if payload.status:
        ticket = services.ticket_set_status(actor=request.user, ticket=ticket,
                                            status=payload.status)
    return ticket


@router.get("/tickets/{ticket_id}/messages", response=list[TicketMessageOut],
            summary="A ticket's messages and internal notes")
def ticket_messages(request: HttpRequest, ticket_id: Id) -> Any:
    return selectors.mask_texts(request.user, _ticket(request, ticket_id).messages.all(),
                                "body")


@router.post("/tickets/{ticket_id}/messages", response={201: TicketMessageOut},
             summary="Reply to the customer, or add an internal note")
def ticket_message_add(request: HttpRequest, ticket_id: Id, payload: MessageIn) -> Any:
    ticket = _ticket(request, ticket_id)
    if payload.internal:
        message = services.ticket_note(actor=request.user, ticket=ticket, body=payload.body)
    else:
        message = services.ticket_reply(actor=request.user, ticket=ticket, body=payload.body,
                                        status=payload.status, seen=payload.seen_message_id)
    return Status(201, message)


@router.post("/tickets/{ticket_id}/merge/{target_id}", response=TicketOut,
             summary="Merge a ticket into another of the same customer")
def ticket_merge(request: HttpRequest, ticket_id: Id, target_id: Id) -> Any:
    return services.ticket_merge(actor=request.user, source=_ticket(request, ticket_id),
                                 target=_ticket(request, target_id))


@router.get("/sla/report", response=list[SlaRow], summary="% of SLA targets met")
def sla_report(request: HttpRequest, by: str = "month", since: dt.date | None = None,
               until: dt.date | None = None) -> Any:
    return selectors.sla_report(request.user, by, since=since, until=until)


@router.get("/surveys/{survey_id}/results", response=SurveyResultOut,
            summary="A survey's CSAT or NPS, with the answers by band")
def survey_results(request: HttpRequest, survey_id: Id, since: dt.date | None = None,
                   until: dt.date | None = None) -> Any:
    require(request.user, DeskAction.VIEW)
    survey = Survey.objects.filter(pk=survey_id).first()
    if survey is None:
        raise NotFound("Survey not found")
    r = surveys.results(actor=request.user, survey=survey, since=since, until=until)
    return {"survey_id": survey.pk, "kind": survey.kind, "invited": r.invited,
            "responses": r.responses, "value": r.value, "average": r.average,
            "bands": r.bands}


@router.get("/kb/articles", response=list[ArticleOut], summary="Knowledge-base articles")
def articles_list(request: HttpRequest, q: str = "", language: str = "zh-hans",
                  limit: Limit = 100) -> Any:
    require(request.user, DeskAction.VIEW)
    if q.strip():
        hits = kb.search(q, language, limit=min(limit, 100))
        found = {a.pk: a for a in Article.objects.filter(pk__in=[h.article_id
                                                                 for h in hits])}
        return [found[h.article_id] for h in hits if h.article_id in found]
    return list(Article.objects.all()[:min(limit, 500)])


@router.post("/kb/articles", response={201: ArticleOut},
             summary="Add an article (published unless publish is false)")
def articles_create(request: HttpRequest, payload: ArticleIn) -> Any:
    article = kb.article_save(actor=request.user, title=payload.title, body=payload.body,
                              language=payload.language, category=payload.category,
                              questions=payload.questions, publish=payload.publish)
    return Status(201, article)


@router.get("/kb/articles/{article_id}", response=ArticleOut, summary="One article")
def articles_get(request: HttpRequest, article_id: Id) -> Any:
    require(request.user, DeskAction.VIEW)
    article = Article.objects.filter(pk=article_id).first()
    if article is None:
        raise NotFound("Article not found")
    return article


@public.post("/bot/ask", response=AskOut, summary="Ask the FAQ bot",
             throttle=[AnonRateThrottle("60/m")])
def bot_ask(request: HttpRequest, payload: AskIn) -> Any:
    conversation = kb.conversation_for(payload.conversation) if payload.conversation \
        else None
    return kb.ask(payload.question, payload.language, conversation=conversation)


@public.post("/bot/handoff", response={201: HandoffOut},
             summary="Hand the conversation to a person: a ticket with the transcript",
             throttle=[AnonRateThrottle("10/m")])
def bot_handoff(request: HttpRequest, payload: HandoffIn) -> Any:
    conversation = kb.conversation_for(payload.conversation)
    ticket = kb.handoff(conversation=conversation, text=payload.text,
                        contact=services.Contact(name=payload.name, email=payload.email,
                                                 phone=payload.phone))
    return Status(201, {"ticket_id": ticket.pk})
