"""The providers Guanxi ships, registered in EngagementConfig.ready()."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from guanxi.core.automation import ConfigField
from guanxi.core.lazy import lazy
from guanxi.engagement.providers import ProviderType, register_providers

ALL = ("email", "sms", "wechat", "push")


def register_builtin_providers() -> None:
    email = "guanxi.engagement.providers.email"
    register_providers(
        ProviderType("log", _("Log only (nothing is sent)"), ALL,
                     lazy("guanxi.engagement.providers.log:send"),
                     help=_("For trying Guanxi out: messages are written to the log and "
                            "count as sent.")),
        ProviderType("smtp", _("SMTP server"), ("email",), lazy(f"{email}:send_smtp"), (
            ConfigField("host", _("Server"), required=False,
                        help=_("Empty: GUANXI_SMTP_HOST")),
            ConfigField("port", _("Port"), "integer", required=False),
            ConfigField("username", _("User name"), required=False),
            ConfigField("password", _("Password"), required=False),
            ConfigField("use_tls", _("STARTTLS"), "boolean", required=False),
            ConfigField("use_ssl", _("TLS from the start (port 465)"), "boolean",
                        required=False),
            ConfigField("from_email", _("Sender address"), required=False),
            ConfigField("from_name", _("Sender name"), required=False))),
        ProviderType("anymail", _("Email service (django-anymail)"), ("email",),
                     lazy(f"{email}:send_anymail"), (
            ConfigField("esp", _("Service"), choices=lambda: [
                (e, e) for e in ("amazon_ses", "brevo", "mailgun", "mailjet", "postmark",
                                 "resend", "sendgrid", "sparkpost")]),
            ConfigField("from_email", _("Sender address"), required=False),
            ConfigField("from_name", _("Sender name"), required=False)),
            help=_("The service's API key goes in the ANYMAIL setting; its delivery, "
                   "bounce, open and click webhooks go to /anymail/<service>/tracking/.")),
    )
