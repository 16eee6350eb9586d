"""Email through Django's mail backends: SMTP (a server of the business's own, or any
relay) or an email service through django-anymail (Amazon SES, Mailgun, Postmark,
SendGrid, …; its tracking webhooks come back through /anymail/<esp>/tracking/).

The message's idempotency key is its Message-ID (<key@domain>), the same on a retry, so
receiving systems and the SMTP sink in the tests can tell a repeat. SMTP itself has no
idempotency: a worker killed after the server accepted the message and before Guanxi
recorded it sends it again when the message is retried (docs/engagement.md)."""

from __future__ import annotations

import logging
import smtplib
import threading
from collections.abc import Mapping
from email.utils import formataddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from guanxi.engagement.providers import Outcome, Outgoing

_local = threading.local()
logger = logging.getLogger(__name__)


def _connection(backend: str, options: Mapping[str, Any]) -> Any:
    """One open connection per worker thread and settings (SMTP keeps it alive across
    messages: the handshake and TLS cost more than a message)."""
    fingerprint = (backend, tuple(sorted(options.items())))
    cached = getattr(_local, "connection", None)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    if cached is not None:
        _close(cached[1])
    connection = get_connection(backend, fail_silently=False, **options)
    _local.connection = (fingerprint, connection)
    return connection


def _drop_connection() -> None:
    cached = getattr(_local, "connection", None)
    _local.connection = None
    if cached is not None:
        _close(cached[1])


def _close(connection: Any) -> None:
    try:
        connection.close()
    except Exception:  # a broken connection is replaced anyway
        logger.debug("closing a mail connection failed", exc_info=True)


def _from(config: Mapping[str, Any]) -> str:
    address = config.get("from_email") or settings.DEFAULT_FROM_EMAIL
    name = config.get("from_name") or ""
    return formataddr((name, address)) if name else address


def _build(message: Outgoing, config: Mapping[str, Any], connection: Any
           ) -> EmailMultiAlternatives:
    email = EmailMultiAlternatives(subject=message.subject, body=message.body,
                                   from_email=_from(config), to=[message.address],
                                   headers={"Message-ID": message.message_id,
                                            **message.headers},
                                   connection=connection)
    if message.html:
        email.attach_alternative(message.html, "text/html")
    return email


def _send_open(message: Outgoing, config: Mapping[str, Any], options: Mapping[str, Any]
               ) -> None:
    connection = _connection("django.core.mail.backends.smtp.EmailBackend", options)
    if connection.connection is None:
        # opened here, it stays open: Django's backend closes only what it opened itself
        connection.open()
    _build(message, config, connection).send()


def send_smtp(message: Outgoing, config: Mapping[str, Any]) -> Outcome:
    options = {"host": config.get("host") or settings.EMAIL_HOST,
               "port": int(config.get("port") or settings.EMAIL_PORT),
               "username": config.get("username") or settings.EMAIL_HOST_USER,
               "password": config.get("password") or settings.EMAIL_HOST_PASSWORD,
               "use_tls": bool(config.get("use_tls")), "use_ssl": bool(config.get("use_ssl")),
               "timeout": float(config.get("timeout") or 20)}
    try:
        try:
            _send_open(message, config, options)
        except smtplib.SMTPServerDisconnected:
            # a kept connection the server closed while idle: nothing of this message
            # was accepted, so it is sent once more on a new connection
            _drop_connection()
            _send_open(message, config, options)
    except smtplib.SMTPRecipientsRefused as exc:
        code = next(iter(exc.recipients.values()))[0] if exc.recipients else 0
        return Outcome(ok=False, permanent=500 <= code < 600, error=f"SMTP {code}")
    except smtplib.SMTPResponseException as exc:
        _drop_connection()
        return Outcome(ok=False, permanent=500 <= exc.smtp_code < 600 and exc.smtp_code != 554,
                       error=f"SMTP {exc.smtp_code}")
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        _drop_connection()
        return Outcome(ok=False, error=f"{type(exc).__name__}: {exc}"[:300])
    return Outcome(ok=True, provider_id=message.message_id)


def send_anymail(message: Outgoing, config: Mapping[str, Any]) -> Outcome:
    """Through django-anymail: `esp` names its backend (amazon_ses, mailgun, postmark,
    sendgrid, …); the ESP's own settings come from ANYMAIL in the settings."""
    from anymail.exceptions import AnymailError, AnymailRecipientsRefused

    backend = f"anymail.backends.{config.get('esp')}.EmailBackend"
    connection = _connection(backend, {})
    email = _build(message, config, connection)
    email.metadata = {"guanxi_key": message.key}  # type: ignore[attr-defined]  # echoed back
    try:
        email.send()
    except AnymailRecipientsRefused as exc:
        return Outcome(ok=False, permanent=True, error=str(exc)[:300])
    except AnymailError as exc:
        _drop_connection()
        return Outcome(ok=False, error=str(exc)[:300])
    status = getattr(email, "anymail_status", None)
    provider_id = str(getattr(status, "message_id", "") or message.message_id)
    if status is not None and status.status and status.status <= {"rejected", "invalid"}:
        return Outcome(ok=False, permanent=True, provider_id=provider_id,
                       error=",".join(sorted(status.status)))
    return Outcome(ok=True, provider_id=provider_id)
