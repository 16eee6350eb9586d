"""Providers: how a message leaves Guanxi on a channel (SMTP, an email service through
django-anymail, Aliyun or Tencent Cloud SMS, a WeChat official account, app push, or only
a log line). Each registers a ProviderType; a ChannelSetup names the one a channel uses
and holds its settings. `send(message, config)` returns an Outcome and never raises for
a provider's refusal: temporary failures are retried, permanent ones suppress the
address."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from guanxi.core.automation import ConfigField, Label


@dataclass(frozen=True)
class Outgoing:
    """One message as a provider sends it. `key` is the idempotency key: providers that
    accept one get it; email carries it in the Message-ID."""

    key: str
    channel: str
    address: str
    subject: str = ""
    body: str = ""
    html: str = ""
    params: Mapping[str, str] = field(default_factory=dict)  # a provider template's values
    provider_template: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    message_id: str = ""


@dataclass(frozen=True)
class Outcome:
    ok: bool
    provider_id: str = ""
    permanent: bool = False  # the address will never work: suppress it
    error: str = ""


Send = Callable[[Outgoing, Mapping[str, Any]], Outcome]


@dataclass(frozen=True)
class ProviderType:
    name: str
    label: Label
    channels: tuple[str, ...]
    send: Send
    fields: tuple[ConfigField, ...] = ()
    # True when the provider itself drops a second request with the same key, so a retry
    # after a crash between its answer and our record cannot deliver twice.
    idempotent: bool = False
    help: Label = ""


_PROVIDERS: dict[str, ProviderType] = {}


def register_providers(*types: ProviderType) -> None:
    for t in types:
        _PROVIDERS[t.name] = t


def provider(name: str) -> ProviderType:
    return _PROVIDERS[name]


def providers_for(channel: str) -> list[ProviderType]:
    return sorted((p for p in _PROVIDERS.values() if channel in p.channels),
                  key=lambda p: p.name)
