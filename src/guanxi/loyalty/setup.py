"""The programme's set-up, written by managers from the settings page: programme rules,
tiers, earn rules, rewards and coupon templates. One audited path for each; the model
form checks every field and the error names the one that is wrong."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.db import transaction
from django.db.models import ProtectedError
from django.utils.translation import gettext as _

from guanxi.audit.services import diff, log_action
from guanxi.core.errors import Conflict, FieldError, InvalidInput, NotFound
from guanxi.core.permissions import Actor, require
from guanxi.loyalty.models import (
    CouponTemplate,
    Draw,
    EarnRule,
    MemberEvent,
    Programme,
    Reward,
    Ticket,
    Tier,
)
from guanxi.loyalty.permissions import LoyaltyAction


class ProgrammeForm(forms.ModelForm):
    class Meta:
        model = Programme
        fields = ["name", "points_per_unit", "expiry_days", "qualify_on", "qualify_months",
                  "grace_days", "cap_per_order", "cap_per_day", "allow_negative",
                  "approval_above", "reservation_minutes", "action_points",
                  "referrer_points", "referee_points"]
        # the JSON keys are identifiers that API callers send, shown as they are
        widgets = {"action_points": forms.Textarea(attrs={"rows": 2, "translate": "no",
                                                          "class": "font-monospace"})}


class TierForm(forms.ModelForm):
    class Meta:
        model = Tier
        fields = ["name", "threshold", "multiplier", "birthday_points", "benefits"]
        widgets = {"benefits": forms.Textarea(attrs={"rows": 2})}


class RuleForm(forms.ModelForm):
    class Meta:
        model = EarnRule
        fields = ["name", "kind", "match", "multiplier", "starts_at", "ends_at", "active"]
        widgets = {"starts_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
                   "ends_at": forms.DateTimeInput(attrs={"type": "datetime-local"})}


class RewardForm(forms.ModelForm):
    class Meta:
        model = Reward
        fields = ["name", "points", "coupon", "stock", "active"]


class CouponTemplateForm(forms.ModelForm):
    class Meta:
        model = CouponTemplate
        fields = ["name", "kind", "value", "cap", "gift", "min_spend", "skus", "categories",
                  "valid_days", "valid_from", "valid_until", "per_customer", "stackable",
                  "active"]
        widgets = {"skus": forms.Textarea(attrs={"rows": 2}),
                   "categories": forms.Textarea(attrs={"rows": 2}),
                   "valid_from": forms.DateTimeInput(attrs={"type": "datetime-local"}),
                   "valid_until": forms.DateTimeInput(attrs={"type": "datetime-local"})}


class EventForm(forms.ModelForm):
    class Meta:
        model = MemberEvent
        fields = ["name", "description", "location", "starts_at", "ends_at", "capacity",
                  "points", "open_to_members"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3}),
                   "starts_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
                   "ends_at": forms.DateTimeInput(attrs={"type": "datetime-local"})}


FORMS: dict[str, type[forms.ModelForm]] = {
    "programme": ProgrammeForm, "tier": TierForm, "rule": RuleForm, "reward": RewardForm,
    "coupon": CouponTemplateForm, "event": EventForm,
}


def _check(kind: str, form: forms.ModelForm) -> None:
    if kind == "programme":
        table = form.cleaned_data.get("action_points") or {}
        if not isinstance(table, dict) or not all(
                isinstance(v, int) and not isinstance(v, bool) and 0 < v <= 10**6
                for v in table.values()):
            form.add_error("action_points", _('An object of action to points, e.g. '
                                              '{"review": 20, "sign_in": 5}'))
    if kind == "coupon":
        data = form.cleaned_data
        if data.get("kind") == "percent" and not 0 < (data.get("value") or 0) <= 100:
            form.add_error("value", _("A percentage between 0 and 100"))
        if data.get("kind") == "amount" and (data.get("value") or 0) <= 0:
            form.add_error("value", _("An amount above zero"))
        if data.get("kind") == "gift" and not (data.get("gift") or "").strip():
            form.add_error("gift", _("Name the gift"))
    if kind == "event":
        starts, ends = form.cleaned_data.get("starts_at"), form.cleaned_data.get("ends_at")
        if starts and ends and ends <= starts:
            form.add_error("ends_at", _("Must be after the start"))
    if kind == "rule" and form.cleaned_data.get("kind") != "campaign" and \
            not (form.cleaned_data.get("match") or "").strip():
        form.add_error("match", _("Name the category or SKU"))


def form_for(kind: str, instance: Any = None, data: Mapping[str, Any] | None = None
             ) -> forms.ModelForm:
    if kind not in FORMS:
        raise NotFound(_("Unknown section"))
    return FORMS[kind](data=data, instance=instance)


def setup_save(*, actor: Actor, kind: str, data: Mapping[str, Any], instance: Any = None
               ) -> Any:
    require(actor, LoyaltyAction.MANAGE)
    form = form_for(kind, instance, data)
    fields = list(form._meta.fields or ())
    before = {f: getattr(instance, f) for f in fields} if instance else {}
    if form.is_valid():
        _check(kind, form)
    if form.errors:
        raise InvalidInput([FieldError(f, " ".join(str(m) for m in msgs))
                            for f, msgs in form.errors.items()])
    with transaction.atomic():
        obj = form.save()
        after = {f: getattr(obj, f) for f in fields}
        log_action(actor=actor, action=f"loyalty.setup.{kind}", obj=obj,
                   changes=diff(before, after))
    return obj


MODELS: dict[str, Any] = {"tier": Tier, "rule": EarnRule, "reward": Reward,
                          "coupon": CouponTemplate, "draw": Draw}


def setup_delete(*, actor: Actor, kind: str, pk: int) -> None:
    require(actor, LoyaltyAction.MANAGE)
    model = MODELS.get(kind)
    obj = model._default_manager.filter(pk=pk).first() if model else None
    if obj is None:
        raise NotFound(_("Not found"))
    if kind == "draw" and Ticket.objects.filter(draw=obj).exists():
        # the tickets and the revealed seed are the lottery's public record
        raise Conflict(_("Members have drawn in %(name)s: it stays, for the record of "
                         "every result") % {"name": obj})
    with transaction.atomic():
        try:
            obj.delete()
        except ProtectedError as exc:
            raise Conflict(_("%(name)s is in use (members, rewards or coupons point to it); "
                             "switch it off instead") % {"name": obj}) from exc
        log_action(actor=actor, action=f"loyalty.setup.{kind}_delete",
                   object_type=f"loyalty.{kind}", object_id=str(pk),
                   changes={"name": [str(obj), None]})
