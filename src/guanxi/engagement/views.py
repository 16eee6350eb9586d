"""Pages of the engagement app: the message log, templates (with a preview for any
customer and the SMS length), channel set-up with the send policy and suppression list,
a message sent from the 360 page, and the customer-facing links in messages (click,
open pixel, unsubscribe)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

from django.conf import settings as django_settings
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from guanxi.core.automation import ConfigField
from guanxi.core.errors import DomainError, FieldError, InvalidInput
from guanxi.core.permissions import can, require
from guanxi.customers.selectors import customer_get, visible_customers
from guanxi.engagement import campaigns, inbound, selectors, services, tracking
from guanxi.engagement import render as rendering
from guanxi.engagement.models import (
    HOLDOUT,
    REASONS,
    Campaign,
    CampaignStatus,
    Message,
    MessageChannel,
    MessageStatus,
    Policy,
    Purpose,
    Suppression,
    Template,
    WinnerMetric,
)
from guanxi.engagement.outbox import render_message
from guanxi.engagement.permissions import EngagementAction
from guanxi.engagement.providers import providers_for

LANGUAGE_LABELS = {"zh-hans": "简体中文", "en": "English"}


# --- the message log --------------------------------------------------------------------

@login_required
def message_list(request: HttpRequest) -> HttpResponse:
    require(request.user, EngagementAction.VIEW)
    channel = request.GET.get("channel", "")
    status = request.GET.get("status", "")
    origin = request.GET.get("origin", "")
    visible = visible_customers(request.user).values("pk")
    found = selectors.messages(channel=channel, status=status, origin=origin).filter(
        customer_id__in=visible).select_related("customer")
    page = Paginator(found, 50).get_page(request.GET.get("page"))
    return render(request, "engagement/messages.html", {
        "page": page, "channel": channel, "status": status, "origin": origin,
        "channels": MessageChannel.choices, "statuses": MessageStatus.choices,
        "origins": [("campaign", _("Campaigns")), ("automation", _("Automations")),
                    ("staff", _("Sent by staff"))],
        "reasons": {k: str(v) for k, v in REASONS.items()},
        "can_manage": can(request.user, EngagementAction.MANAGE)})


# --- templates --------------------------------------------------------------------------

@login_required
def template_list(request: HttpRequest) -> HttpResponse:
    require(request.user, EngagementAction.VIEW)
    return render(request, "engagement/templates.html", {
        "templates": selectors.templates(include_archived=bool(request.GET.get("archived"))),
        "can_manage": can(request.user, EngagementAction.MANAGE)})


def _posted_texts(request: HttpRequest) -> list[services.TextInput]:
    texts = []
    for lang in services.LANGUAGES:
        body = request.POST.get(f"body_{lang}", "")
        subject = request.POST.get(f"subject_{lang}", "")
        html = request.POST.get(f"html_{lang}", "")
        if body.strip() or subject.strip() or html.strip():
            texts.append(services.TextInput(lang, body, subject, html))
    return texts


@login_required
def template_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    require(request.user, EngagementAction.VIEW if pk else EngagementAction.MANAGE)
    template = get_object_or_404(Template, pk=pk) if pk else None
    errors: list[FieldError] = []
    texts: dict[str, Any] = {t.language: t for t in template.texts.all()} if template else {}
    form: dict[str, Any] = {
        "name": template.name if template else "",
        "channel": template.channel if template else MessageChannel.EMAIL,
        "purpose": template.purpose if template else Purpose.MARKETING,
        "provider_template": template.provider_template if template else ""}
    if request.method == "POST":
        form = {k: request.POST.get(k, "") for k in form}
        posted = _posted_texts(request)
        try:
            template = services.template_save(actor=request.user, template=template,
                                              texts=posted, **form)
        except DomainError as exc:
            errors = exc.as_fields()
            texts = {t.language: t for t in posted}
        else:
            flash.success(request, _("Template saved."))
            return redirect("engagement:template", pk=template.pk)
    languages = [{"code": code, "label": LANGUAGE_LABELS[code], "text": texts.get(code)}
                 for code in services.LANGUAGES]
    return render(request, "engagement/template_edit.html", {
        "template": template, "form": form, "errors": errors, "languages": languages,
        "channels": MessageChannel.choices, "purposes": Purpose.choices,
        "variables": [(k, str(v)) for k, v in rendering.VARIABLES.items()],
        "can_manage": can(request.user, EngagementAction.MANAGE)},
        status=422 if errors else 200)


@login_required
@require_POST
def template_archive(request: HttpRequest, pk: int) -> HttpResponse:
    template = get_object_or_404(Template, pk=pk)
    services.template_archive(actor=request.user, template=template)
    flash.success(request, _("Template archived."))
    return redirect("engagement:templates")


@login_required
def template_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The template as one customer would get it now (htmx), with the SMS length."""
    require(request.user, EngagementAction.VIEW)
    template = get_object_or_404(Template, pk=pk)
    raw = request.GET.get("customer", "").strip()
    customer = None
    if raw.isdigit():
        try:
            customer = customer_get(actor=request.user, customer_id=int(raw))
        except DomainError:
            customer = None
    if customer is None:
        customer = visible_customers(request.user).order_by("pk").first()
    context: dict[str, Any] = {"template": template, "customer": customer}
    if customer is not None:
        from guanxi.engagement.models import ChannelSetup

        setup = ChannelSetup.objects.filter(channel=template.channel).first()
        probe = Message(pk=0, key="preview", customer=customer, channel=template.channel,
                        purpose=template.purpose, template=template, origin="preview")
        try:
            context["rendered"] = render_message(probe, customer, setup)
        except (rendering.TemplateError, Exception) as exc:
            context["error"] = str(exc)
        else:
            if template.channel == MessageChannel.SMS:
                context["sms"] = rendering.sms_segments(context["rendered"].body)
    return render(request, "engagement/_preview.html", context)


# --- sending from the 360 page ----------------------------------------------------------

@login_required
@require_POST
def send(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = customer_get(actor=request.user, customer_id=customer_id)
    raw_template = request.POST.get("template", "")
    template = Template.objects.filter(pk=int(raw_template)).first() \
        if raw_template.isdigit() else None
    errors: list[FieldError] = []
    try:
        services.message_send(actor=request.user, customer=customer,
                              channel=request.POST.get("channel", ""),
                              purpose=request.POST.get("purpose", ""), template=template,
                              subject=request.POST.get("subject", ""),
                              body=request.POST.get("body", ""))
    except DomainError as exc:
        errors = exc.as_fields()
    from guanxi.engagement.registrations import messages_panel

    context = messages_panel(request.user, customer.pk) or {}
    context.update({"errors": errors, "sent": not errors, "posted": request.POST})
    return render(request, "engagement/_customer_messages.html", {"panel": context},
                  status=422 if errors else 200)


# --- settings ---------------------------------------------------------------------------

def _field_rows(fields: tuple[ConfigField, ...], config: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": f.name, "label": str(f.label), "kind": f.kind, "help": str(f.help),
             "secret": services._secret(f.name),
             "value": "" if services._secret(f.name) else config.get(f.name, ""),
             "choices": [(str(v), str(lbl)) for v, lbl in f.choices()] if f.choices else None}
            for f in fields]


@login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    require(request.user, EngagementAction.SETUP)
    errors: list[FieldError] = []
    if request.method == "POST":
        try:
            if request.POST.get("form") == "policy":
                services.policy_save(actor=request.user,
                                     cap_messages=_int(request.POST.get("cap_messages")),
                                     cap_days=_int(request.POST.get("cap_days")),
                                     default_language=request.POST.get("default_language", ""))
                flash.success(request, _("Send policy saved."))
            elif request.POST.get("form") == "suppress":
                services.suppression_add(actor=request.user,
                                         channel=request.POST.get("channel", ""),
                                         address=request.POST.get("address", ""),
                                         note=request.POST.get("note", ""))
                flash.success(request, _("Address added to the suppression list."))
            else:
                channel = request.POST.get("channel", "")
                provider_name = request.POST.get("provider", "")
                spec = next((p for p in providers_for(channel) if p.name == provider_name),
                            None)
                config: dict[str, Any] = {}
                for f in spec.fields if spec else ():
                    raw = request.POST.get(f"cfg_{f.name}", "").strip()
                    if f.kind == "boolean":
                        config[f.name] = bool(raw)
                    elif f.kind == "integer" and raw:
                        config[f.name] = _int(raw)
                    elif raw:
                        config[f.name] = raw
                services.channel_setup_save(
                    actor=request.user, channel=channel, provider_name=provider_name,
                    config=config, active=bool(request.POST.get("active")),
                    rate_per_second=_int(request.POST.get("rate_per_second")),
                    quiet_start=request.POST.get("quiet_start", ""),
                    quiet_end=request.POST.get("quiet_end", ""))
                flash.success(request, _("Channel saved."))
        except DomainError as exc:
            errors = exc.as_fields()
        else:
            return redirect("engagement:settings")
    setups = selectors.channel_setups()
    channels = []
    for code, label in MessageChannel.choices:
        setup = setups[code]
        labels = {p.name: str(p.label) for p in providers_for(code)}
        channels.append({
            "code": code, "label": label, "setup": setup,
            "provider_label": labels.get(setup.provider, setup.provider) if setup else "",
            "callback": f"{django_settings.GUANXI_PUBLIC_URL}/m/sms/"
                        f"{setup.config['callback_token']}"
                        if setup and setup.config.get("callback_token") else "",
            "providers": [{"name": p.name, "label": str(p.label), "help": str(p.help),
                           "fields": _field_rows(p.fields, setup.config if setup and
                                                 setup.provider == p.name else {})}
                          for p in providers_for(code)]})
    return render(request, "engagement/settings.html", {
        "channels": channels, "policy": Policy.objects.first() or Policy(),
        "errors": errors, "suppressions": selectors.suppressions()[:100],
        "channel_choices": MessageChannel.choices,
        "language_choices": list(LANGUAGE_LABELS.items())}, status=422 if errors else 200)


def _int(raw: Any) -> int:
    try:
        return int(str(raw).strip())
    except ValueError:
        return -1


@login_required
@require_POST
def suppression_remove(request: HttpRequest, pk: int) -> HttpResponse:
    found = get_object_or_404(Suppression, pk=pk)
    services.suppression_remove(actor=request.user, suppression=found)
    flash.success(request, _("Address removed from the suppression list."))
    return redirect("engagement:settings")


# --- links in messages (no sign-in: the customer follows them) --------------------------

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def click(request: HttpRequest, token: str) -> HttpResponse:
    try:
        data = signing.loads(token, salt=tracking.CLICK_SALT)
    except signing.BadSignature as exc:
        raise Http404 from exc
    message = Message.objects.filter(pk=data.get("m")).first()
    url = str(data.get("u", ""))
    if not url.startswith(("http://", "https://")):
        raise Http404
    if message is not None and not tracking.is_machine(request, message):
        tracking.record_click(message, url)
    return HttpResponseRedirect(url)


def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    try:
        pk = signing.loads(token, salt=tracking.OPEN_SALT)
    except signing.BadSignature:
        pk = None
    message = Message.objects.filter(pk=pk).first() if pk else None
    if message is not None and not tracking.is_machine(request, message):
        tracking.record_open(message)
    response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt  # the provider POSTs; the secret token in the address authenticates it
@require_POST
def sms_callback(request: HttpRequest, token: str, what: str) -> HttpResponse:
    """Aliyun and Tencent Cloud SMS delivery reports (`report`) and replies (`reply`)."""
    if what not in ("report", "reply") or inbound.sms_setup_for(token) is None:
        raise Http404
    try:
        rows = json.loads(request.body or b"[]")
    except ValueError:
        return JsonResponse({"code": 1, "msg": "malformed JSON"}, status=400)
    rows = rows if isinstance(rows, list) else [rows]
    rows = [r for r in rows if isinstance(r, dict)]
    handled = inbound.sms_reports(rows) if what == "report" else inbound.sms_replies(rows)
    # both providers expect {"code": 0} (Aliyun) / {"result": 0} (Tencent) for "received"
    return JsonResponse({"code": 0, "result": 0, "msg": "ok", "handled": handled})


@csrf_exempt  # RFC 8058 one-click: the mail program POSTs without a session or token
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        data = signing.loads(token, salt="engagement.unsubscribe")
    except signing.BadSignature as exc:
        raise Http404 from exc
    message = get_object_or_404(Message, pk=data.get("m"))
    done = False
    if request.method == "POST":
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        services.unsubscribe(message, source="one-click" if one_click else "unsubscribe link")
        done = True
        if one_click:
            return HttpResponse(status=200)
    return render(request, "engagement/unsubscribe.html", {
        "message": message, "done": done,
        "channel": dict(MessageChannel.choices).get(message.channel, message.channel)})


# --- campaigns --------------------------------------------------------------------------

@login_required
def campaign_list(request: HttpRequest) -> HttpResponse:
    require(request.user, EngagementAction.VIEW)
    rows = [(c, campaigns.progress(c)) for c in Campaign.objects.select_related("segment")[:200]]
    return render(request, "engagement/campaigns.html", {
        "rows": rows, "can_manage": can(request.user, EngagementAction.MANAGE)})


def _campaign_form(request: HttpRequest, campaign: Campaign | None) -> dict[str, Any]:
    if request.method == "POST":
        post = request.POST
        return {k: post.get(k, "") for k in (
            "name", "segment", "holdout_percent", "scheduled_at", "throttle_per_hour",
            "winner_metric", "test_percent", "winner_after_hours", "conversion_days")} | {
            "variants": [(post.get(f"variant_template_{i}", ""),
                          post.get(f"variant_share_{i}", "")) for i in range(5)]}
    variants = [(str(v.template_id), str(v.share)) for v in campaign.variants.all()] \
        if campaign else [("", "50"), ("", "50")]
    variants += [("", "")] * (5 - len(variants))
    return {"name": campaign.name if campaign else "",
            "segment": str(campaign.segment_id) if campaign else "",
            "holdout_percent": campaign.holdout_percent if campaign else 10,
            "scheduled_at": timezone.localtime(campaign.scheduled_at).strftime(
                "%Y-%m-%dT%H:%M") if campaign and campaign.scheduled_at else "",
            "throttle_per_hour": campaign.throttle_per_hour if campaign else 0,
            "winner_metric": campaign.winner_metric if campaign else "",
            "test_percent": campaign.test_percent if campaign else 100,
            "winner_after_hours": campaign.winner_after_hours if campaign else 4,
            "conversion_days": campaign.conversion_days if campaign else 7,
            "variants": variants}


def _when(raw: str) -> dt.datetime | None:
    if not raw:
        return None
    try:
        return timezone.make_aware(dt.datetime.fromisoformat(raw))
    except ValueError as exc:
        raise InvalidInput.single("scheduled_at", _("Give a date and time"), raw) from exc


@login_required
def campaign_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    require(request.user, EngagementAction.MANAGE)
    campaign = get_object_or_404(Campaign, pk=pk) if pk else None
    form = _campaign_form(request, campaign)
    errors: list[FieldError] = []
    if request.method == "POST":
        try:
            variants = [campaigns.VariantInput(int(t), _int(s)) for t, s in form["variants"]
                        if t.strip().isdigit()]
            campaign = campaigns.campaign_save(
                actor=request.user, campaign=campaign, name=form["name"],
                segment_id=form["segment"], variants=variants,
                holdout_percent=_int(form["holdout_percent"]),
                scheduled_at=_when(form["scheduled_at"]),
                throttle_per_hour=_int(form["throttle_per_hour"]),
                winner_metric=form["winner_metric"], test_percent=_int(form["test_percent"]),
                winner_after_hours=_int(form["winner_after_hours"]),
                conversion_days=_int(form["conversion_days"]))
        except DomainError as exc:
            errors = exc.as_fields()
        else:
            flash.success(request, _("Campaign saved. Check the audience, then send it."))
            return redirect("engagement:campaign", pk=campaign.pk)
    from guanxi.analytics.models import Segment

    return render(request, "engagement/campaign_edit.html", {
        "campaign": campaign, "form": form, "errors": errors,
        "segments": Segment.objects.order_by("name"),
        "templates": selectors.templates(), "metrics": WinnerMetric.choices},
        status=422 if errors else 200)


@login_required
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, EngagementAction.VIEW)
    campaign = get_object_or_404(Campaign.objects.select_related("segment"), pk=pk)
    done = campaigns.progress(campaign)
    context: dict[str, Any] = {"campaign": campaign, "progress": done,
                               "variants": campaign.variants.select_related("template"),
                               "can_manage": can(request.user, EngagementAction.MANAGE)}
    if campaign.status == CampaignStatus.DRAFT:
        people = campaigns.audience(campaign)
        context["audience_count"] = people.count()
        context["audience_sample"] = people.order_by("-pk")[:8]
    else:
        result = campaigns.report(campaign)
        context["report"] = result
        context["chart"] = _report_chart(result)
    if request.headers.get("HX-Request") and request.GET.get("part") == "progress":
        return render(request, "engagement/_campaign_progress.html", context)
    return render(request, "engagement/campaign.html", context)


def _report_chart(result: dict[str, Any]) -> dict[str, Any]:
    names = [_("Holdout") if r["code"] == HOLDOUT else _("Variant %(code)s") % {
        "code": r["code"]} for r in result["variants"]]

    def rate(r: dict[str, Any], field: str) -> float:
        base = r["base"] if field == "converted" else r["sent"]
        return round(100 * r[field] / base, 1) if base else 0.0

    series = [{"name": str(label), "type": "bar",
               "data": [None if r["code"] == HOLDOUT and field != "converted"
                        else rate(r, field) for r in result["variants"]]}
              for field, label in (("opened", _("Opened (%)")), ("clicked", _("Clicked (%)")),
                                   ("converted", _("Converted (%)")))]
    return {"tooltip": {"trigger": "axis"}, "legend": {}, "xAxis": {"type": "category",
            "data": names}, "yAxis": {"type": "value"}, "series": series}


@login_required
@require_POST
def campaign_launch(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    try:
        campaigns.campaign_launch(actor=request.user, campaign=campaign)
    except DomainError as exc:
        flash.error(request, exc.message)
    else:
        flash.success(request, _("The campaign is on its way."))
    return redirect("engagement:campaign", pk=pk)


@login_required
@require_POST
def campaign_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    try:
        n = campaigns.campaign_cancel(actor=request.user, campaign=campaign)
    except DomainError as exc:
        flash.error(request, exc.message)
    else:
        flash.success(request, _("Cancelled: %(n)s messages will not be sent.") % {"n": n})
    return redirect("engagement:campaign", pk=pk)


@login_required
def automation_report(request: HttpRequest) -> HttpResponse:
    """Messages sent by automation steps: per automation and step."""
    require(request.user, EngagementAction.VIEW)
    return render(request, "engagement/automation_report.html",
                  {"rows": selectors.automation_message_stats()})
