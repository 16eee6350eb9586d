"""The providers Guanxi ships, registered in EngagementConfig.ready()."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from guanxi.core.automation import ConfigField
from guanxi.core.lazy import lazy
from guanxi.engagement.providers import ProviderType, register_providers

ALL = ("email", "sms", "wechat", "push")


def register_builtin_providers() -> None:
    email = "guanxi.engagement.providers.email"
    sms = "guanxi.engagement.providers.sms"
    wechat = "guanxi.engagement.providers.wechat"
    endpoint = ConfigField("endpoint", _("API address (empty: the provider's own)"),
                           required=False)
    sign = ConfigField("sign", _("SMS sign (the 【brand】 registered with the carrier)"))
    register_providers(
        ProviderType("log", _("Log only (nothing is sent)"), ALL,
                     lazy("guanxi.engagement.providers.log:send"), (
                         ConfigField("sign", _("SMS sign shown before the text"),
                                     required=False,
                                     help=_("For SMS only: how the messages would look "
                                            "with a carrier's 【sign】.")),),
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
        ProviderType("aliyun", _("Aliyun SMS"), ("sms",), lazy(f"{sms}:send_aliyun"), (
            ConfigField("access_key_id", _("AccessKey ID")),
            ConfigField("access_key_secret", _("AccessKey secret")),
            sign, ConfigField("region", _("Region"), required=False), endpoint),
            help=_("Templates need the provider template id (SMS_…); they get the variables "
                   "name (the salutation) and text.")),
        ProviderType("tencent", _("Tencent Cloud SMS"), ("sms",), lazy(f"{sms}:send_tencent"), (
            ConfigField("secret_id", _("SecretId")), ConfigField("secret_key", _("SecretKey")),
            ConfigField("app_id", _("SmsSdkAppId")), sign,
            ConfigField("region", _("Region"), required=False), endpoint),
            help=_("Templates need the provider template id; its parameters are the "
                   "salutation and the text, in that order.")),
        ProviderType("wechat", _("WeChat official account"), ("wechat",),
                     lazy(f"{wechat}:send_wechat"), (
            ConfigField("app_id", _("AppID")), ConfigField("app_secret", _("AppSecret")),
            ConfigField("url", _("Link opened from the message"), required=False), endpoint),
            help=_("Template messages to followers (their OpenID of this AppID); templates "
                   "need the WeChat template id, whose fields get name and text.")),
        ProviderType("jpush", _("JPush"), ("push",), lazy(f"{wechat}:send_jpush"), (
            ConfigField("app_key", _("AppKey")), ConfigField("master_secret", _("Master secret")),
            ConfigField("production", _("Production (APNs)"), "boolean", required=False),
            endpoint, ConfigField("identity_system", _("Identity system of app user ids"),
                                  required=False)),
            help=_("Pushes to the alias that is the customer's app user id.")),
        ProviderType("push_webhook", _("Own push service (signed webhook)"), ("push",),
                     lazy(f"{wechat}:send_push_webhook"), (
            ConfigField("url", _("Address")), ConfigField("secret", _("Signing secret (whsec_…)")),
            ConfigField("identity_system", _("Identity system of app user ids"),
                        required=False)),
            idempotent=True,
            help=_("Signed per Standard Webhooks; the webhook-id stays the same on a retry.")),
    )
