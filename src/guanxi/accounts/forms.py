from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.services import scope_label, token_scope_choices


class CodeForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=20, strip=True,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code",
                                                         "inputmode": "numeric",
                                                         "autofocus": True}))


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    scopes = forms.MultipleChoiceField(label=_("Scopes"), widget=forms.CheckboxSelectMultiple,
                                       initial=["read"])
    days = forms.IntegerField(label=_("Expires after (days)"), min_value=1,
                              max_value=settings.GUANXI_API_TOKEN_MAX_DAYS,
                              initial=settings.GUANXI_API_TOKEN_DAYS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scopes"].choices = [(s, scope_label(s)) for s in token_scope_choices()]
