"""Settings → automatic tag rules (a rule puts a tag on every customer whose attribute
matches; saving or deleting one re-tags everyone in the worker)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from guanxi.dataquality import selectors, services
from guanxi.dataquality.models import TagRule

# The attributes a rule can look at, as people name them (custom ones: attributes.KEY).
ATTRIBUTES = [
    ("region", gettext_lazy("Region")), ("province", gettext_lazy("Province")),
    ("city", gettext_lazy("City")), ("gender", gettext_lazy("Gender")),
    ("source", gettext_lazy("Source")), ("occupation", gettext_lazy("Occupation")),
    ("age", gettext_lazy("Age")), ("birth_year", gettext_lazy("Year of birth")),
    ("email_domain", gettext_lazy("Email domain")), ("company", gettext_lazy("Company")),
]


class TagRuleForm(forms.ModelForm):
    class Meta:
        model = TagRule
        fields = ["tag", "attribute", "operator", "value", "active"]
        help_texts = {"attribute": gettext_lazy(
            "Pick one from the list; a custom attribute is written as in the documentation.")}
        widgets = {"attribute": forms.TextInput(attrs={"list": "tag-rule-attributes"})}


@login_required
def tag_rules(request: HttpRequest, rule_id: int | None = None) -> HttpResponse:
    rules = selectors.tag_rule_list(actor=request.user)
    rule = selectors.tag_rule_get(actor=request.user, rule_id=rule_id) if rule_id else None
    form = TagRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        saved = services.tag_rule_save(actor=request.user, rule=form.instance)
        messages.success(request, _("Rule for the tag “%(tag)s” saved; every customer is "
                                    "being tagged again.") % {"tag": saved.tag})
        return redirect("dataquality:tag_rules")
    return render(request, "dataquality/tag_rules.html",
                  {"rules": rules, "form": form, "editing": rule, "attributes": ATTRIBUTES},
                  status=422 if request.method == "POST" else 200)


@login_required
@require_POST
def tag_rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = selectors.tag_rule_get(actor=request.user, rule_id=rule_id)
    services.tag_rule_delete(actor=request.user, rule=rule)
    messages.success(request, _("Rule deleted. Customers keep the tag it gave them."))
    return redirect("dataquality:tag_rules")
