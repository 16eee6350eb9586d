"""REST endpoints for messages: templates, campaigns (create, launch, cancel, report),
sending one message to a customer, and a message's status. Token scope
`engagement:read` / `engagement:write`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.responses import Status

from guanxi.core.apitypes import Id
from guanxi.core.errors import InvalidInput, NotFound
from guanxi.core.permissions import require
from guanxi.customers.selectors import customer_get, visible_customers
from guanxi.engagement import campaigns, selectors, services
from guanxi.engagement.models import Campaign, Message, Template
from guanxi.engagement.permissions import EngagementAction

router = Router(tags=["messages"])


class TextSchema(Schema):
    language: str = Field(description="zh-hans or en")
    subject: str = Field("", max_length=200)
    body: str = Field("", description="Text; variables and if/else only")
    html: str = Field("", description="Email HTML (sanitised and CSS inlined when sent)")


class TemplateIn(Schema):
    name: str = Field(max_length=120)
    channel: str = Field(description="email, sms, wechat or push")
    purpose: str = Field(description="marketing, service, surveys or transactional")
    provider_template: str = Field("", max_length=100)
    texts: list[TextSchema]


class TemplateOut(Schema):
    id: int
    name: str
    channel: str
    purpose: str
    provider_template: str
    archived: bool
    texts: list[TextSchema]

    @staticmethod
    def resolve_texts(obj: Template) -> list[dict[str, str]]:
        return [{"language": t.language, "subject": t.subject, "body": t.body,
                 "html": t.html} for t in obj.texts.all()]


class SendIn(Schema):
    channel: str
    purpose: str
    template_id: int | None = None
    subject: str = Field("", max_length=200)
    body: str = ""


class MessageOut(Schema):
    id: int
    customer_id: int
    channel: str
    purpose: str
    template_id: int | None
    origin: str
    origin_id: int | None
    variant: str
    status: str
    reason: str
    due_at: dt.datetime
    sent_at: dt.datetime | None
    delivered_at: dt.datetime | None
    opened_at: dt.datetime | None
    clicked_at: dt.datetime | None
    created_at: dt.datetime


class VariantSchema(Schema):
    template_id: Id
    share: int = Field(description="Percent of the recipients who get one (together 100)")


class CampaignIn(Schema):
    name: str = Field(max_length=120)
    segment_id: Id
    variants: list[VariantSchema]
    holdout_percent: int = 10
    scheduled_at: dt.datetime | None = None
    throttle_per_hour: int = 0
    winner_metric: str = Field("", description='"", "open", "click" or "conversion"')
    test_percent: int = 100
    winner_after_hours: int = 4
    conversion_days: int = 7


class CampaignOut(Schema):
    id: int
    name: str
    segment_id: int
    channel: str
    status: str
    scheduled_at: dt.datetime | None
    throttle_per_hour: int
    holdout_percent: int
    winner_metric: str
    test_percent: int
    winner_after_hours: int
    conversion_days: int
    audience_size: int
    launched_at: dt.datetime | None
    winner: str
    winner_p: float | None
    variants: list[VariantSchema]

    @staticmethod
    def resolve_variants(obj: Campaign) -> list[dict[str, int]]:
        return [{"template_id": v.template_id, "share": v.share} for v in obj.variants.all()]


class ReportRow(Schema):
    code: str
    recipients: int
    sent: int
    delivered: int
    opened: int
    clicked: int
    not_sent: int
    unsubscribed: int
    converted: int
    revenue: Decimal
    conversion_rate: float
    lift: float | None = None
    lift_p: float | None = None


class ReportOut(Schema):
    variants: list[ReportRow]
    progress: dict[str, int]


def _texts(payload: TemplateIn) -> list[services.TextInput]:
    return [services.TextInput(t.language, t.body, t.subject, t.html) for t in payload.texts]


@router.get("/templates", response=list[TemplateOut], summary="Message templates")
def templates_list(request: HttpRequest) -> Any:
    require(request.user, EngagementAction.VIEW)
    return list(selectors.templates(include_archived=True))


@router.post("/templates", response={201: TemplateOut}, summary="Add a template")
def templates_create(request: HttpRequest, payload: TemplateIn) -> Any:
    return Status(201, services.template_save(
        actor=request.user, name=payload.name, channel=payload.channel,
        purpose=payload.purpose, provider_template=payload.provider_template,
        texts=_texts(payload)))


@router.get("/templates/{template_id}", response=TemplateOut, summary="One template")
def templates_get(request: HttpRequest, template_id: Id) -> Any:
    require(request.user, EngagementAction.VIEW)
    return get_object_or_404(Template, pk=template_id)


@router.put("/templates/{template_id}", response=TemplateOut, summary="Change a template")
def templates_update(request: HttpRequest, template_id: Id, payload: TemplateIn) -> Any:
    require(request.user, EngagementAction.MANAGE)
    template = get_object_or_404(Template, pk=template_id)
    return services.template_save(
        actor=request.user, template=template, name=payload.name, channel=payload.channel,
        purpose=payload.purpose, provider_template=payload.provider_template,
        texts=_texts(payload))


@router.post("/customers/{customer_id}/messages", response={202: MessageOut},
             summary="Send one message to a customer (under the send policy)")
def message_send(request: HttpRequest, customer_id: Id, payload: SendIn) -> Any:
    customer = customer_get(actor=request.user, customer_id=customer_id)
    template = None
    if payload.template_id is not None:
        template = Template.objects.filter(pk=payload.template_id).first()
        if template is None:
            raise InvalidInput.single("template_id", _("No such template"),
                                      payload.template_id)
    return Status(202, services.message_send(
        actor=request.user, customer=customer, channel=payload.channel,
        purpose=payload.purpose, template=template, subject=payload.subject,
        body=payload.body))


@router.get("/customers/{customer_id}/messages", response=list[MessageOut],
            summary="A customer's messages, newest first")
def customer_messages(request: HttpRequest, customer_id: Id) -> Any:
    require(request.user, EngagementAction.VIEW)
    customer = customer_get(actor=request.user, customer_id=customer_id)
    return selectors.messages_of_customer(customer.pk, limit=200)


@router.get("/messages/{message_id}", response=MessageOut, summary="A message and its status")
def message_get(request: HttpRequest, message_id: Id) -> Any:
    require(request.user, EngagementAction.VIEW)
    message = Message.objects.filter(pk=message_id, customer_id__in=visible_customers(
        request.user).values("pk")).first()
    if message is None:
        raise NotFound(_("Message not found"))
    return message


@router.get("/campaigns", response=list[CampaignOut], summary="Campaigns")
def campaigns_list(request: HttpRequest) -> Any:
    require(request.user, EngagementAction.VIEW)
    return list(Campaign.objects.prefetch_related("variants")[:500])


def _campaign_args(payload: CampaignIn) -> dict[str, Any]:
    data = payload.dict()
    data["variants"] = [campaigns.VariantInput(v["template_id"], v["share"])
                        for v in data["variants"]]
    return data


@router.post("/campaigns", response={201: CampaignOut}, summary="Add a campaign (a draft)")
def campaigns_create(request: HttpRequest, payload: CampaignIn) -> Any:
    return Status(201, campaigns.campaign_save(actor=request.user, **_campaign_args(payload)))


@router.get("/campaigns/{campaign_id}", response=CampaignOut, summary="One campaign")
def campaigns_get(request: HttpRequest, campaign_id: Id) -> Any:
    require(request.user, EngagementAction.VIEW)
    return get_object_or_404(Campaign, pk=campaign_id)


@router.put("/campaigns/{campaign_id}", response=CampaignOut, summary="Change a draft")
def campaigns_update(request: HttpRequest, campaign_id: Id, payload: CampaignIn) -> Any:
    require(request.user, EngagementAction.MANAGE)
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    return campaigns.campaign_save(actor=request.user, campaign=campaign,
                                   **_campaign_args(payload))


@router.post("/campaigns/{campaign_id}/launch", response={202: CampaignOut},
             summary="Send now, or at its scheduled time")
def campaigns_launch(request: HttpRequest, campaign_id: Id) -> Any:
    require(request.user, EngagementAction.MANAGE)
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    return Status(202, campaigns.campaign_launch(actor=request.user, campaign=campaign))


@router.post("/campaigns/{campaign_id}/cancel", response=CampaignOut,
             summary="Cancel the messages not sent yet")
def campaigns_cancel(request: HttpRequest, campaign_id: Id) -> Any:
    require(request.user, EngagementAction.MANAGE)
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    campaigns.campaign_cancel(actor=request.user, campaign=campaign)
    campaign.refresh_from_db()
    return campaign


@router.get("/campaigns/{campaign_id}/report", response=ReportOut,
            summary="Results per variant and the holdout")
def campaigns_report(request: HttpRequest, campaign_id: Id) -> Any:
    require(request.user, EngagementAction.VIEW)
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    return {"variants": campaigns.report(campaign)["variants"],
            "progress": campaigns.progress(campaign)}
