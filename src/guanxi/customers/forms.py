from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from guanxi.core.errors import DomainError
from guanxi.customers.models import Channel, Gender, Language, Source
from guanxi.timeline.kinds import LOGGABLE, kind_label, kinds_with

# Service error paths -> form field names
FIELD_MAP = {"emails.0": "email", "phones.0": "phone"}


def apply_errors(form: forms.Form, error: DomainError) -> None:
    """Show a service's errors on the form fields they belong to."""
    if not error.errors:
        form.add_error(None, error.message)
        return
    for e in error.errors:
        name = FIELD_MAP.get(e.field, e.field)
        form.add_error(name if name in form.fields else None, e.message)


class CustomerForm(forms.Form):
    family_name = forms.CharField(label=_("Family name"), max_length=100, required=False)
    given_name = forms.CharField(label=_("Given name"), max_length=100, required=False)
    display_name = forms.CharField(label=_("Display name"), max_length=200, required=False,
                                   help_text=_("Leave empty to build it from the names."))
    gender = forms.ChoiceField(label=_("Gender"), choices=Gender.choices,
                               initial=Gender.UNKNOWN)
    birthday = forms.DateField(label=_("Birthday"), required=False,
                               widget=forms.DateInput(attrs={"type": "date"}))
    lunar_birthday = forms.BooleanField(label=_("Celebrates the lunar birthday"),
                                        required=False)
    region = forms.CharField(label=_("Region"), max_length=100, required=False)
    occupation = forms.CharField(label=_("Occupation"), max_length=100, required=False)
    preferred_language = forms.ChoiceField(label=_("Preferred language"),
                                           choices=Language.choices)
    preferred_channel = forms.ChoiceField(label=_("Preferred channel"),
                                          choices=[("", "—"), *Channel.choices], required=False)
    source = forms.ChoiceField(label=_("Source"), choices=Source.choices, initial=Source.OTHER)
    owner: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Owner"), queryset=None, required=False)

    def __init__(self, *args: Any, owners: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owner_field = self.fields["owner"]
        assert isinstance(owner_field, forms.ModelChoiceField)
        owner_field.queryset = owners

    def profile(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items()
                if k not in ("phone", "email", "tags", "version")}


class CustomerEditForm(CustomerForm):
    # The version the form was opened at: saving refuses to overwrite a newer one.
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)


class CustomerCreateForm(CustomerForm):
    phone = forms.CharField(label=_("Mobile phone"), max_length=40, required=False)
    email = forms.CharField(label=_("Email"), max_length=200, required=False)
    tags = forms.CharField(label=_("Tags"), required=False,
                           help_text=_("Separate tags with commas."))

    def tag_names(self) -> list[str]:
        raw = self.cleaned_data.get("tags", "").replace("，", ",")
        return [t.strip() for t in raw.split(",") if t.strip()]


class InteractionForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type"), choices=lambda: [
        (k, kind_label(k)) for k in kinds_with(LOGGABLE)])
    summary = forms.CharField(label=_("What happened"), max_length=5000,
                              widget=forms.Textarea(attrs={"rows": 3}))
    follow_up_on = forms.DateField(label=_("Follow up on"), required=False,
                                   widget=forms.DateInput(attrs={"type": "date"}))


class TagForm(forms.Form):
    name = forms.CharField(label=_("Tag"), max_length=50)
