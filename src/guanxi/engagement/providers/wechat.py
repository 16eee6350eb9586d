"""A WeChat official account's template messages (cgi-bin/message/template/send), with the
access token cached until shortly before it expires (one token per app id and process;
WeChat allows 2,000 token requests a day), and app push through JPush (v3/push, HTTP
Basic with the app key and master secret) or a generic push webhook of the business's
own push service, signed per Standard Webhooks."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import zlib
from collections.abc import Mapping
from typing import Any

import httpx

from guanxi.engagement.providers import Outcome, Outgoing

WECHAT_URL = "https://api.weixin.qq.com"
JPUSH_URL = "https://api.jpush.cn/v3/push"
TIMEOUT_S = 10.0
# WeChat answers meaning this follower cannot get messages (unfollowed, blocked, no such
# OpenID): the address is suppressed.
WECHAT_PERMANENT = {40003, 43004, 43019}
WECHAT_TOKEN_EXPIRED = {40001, 40014, 42001}

_tokens: dict[tuple[str, str], tuple[str, float]] = {}
_lock = threading.Lock()
_local = threading.local()


def _client() -> httpx.Client:
    client = getattr(_local, "client", None)
    if client is None:
        client = _local.client = httpx.Client(follow_redirects=False, timeout=TIMEOUT_S)
    return client


def _token(config: Mapping[str, Any], *, fresh: bool = False) -> str:
    base = str(config.get("endpoint") or WECHAT_URL).rstrip("/")
    key = (base, str(config["app_id"]))
    with _lock:
        cached = _tokens.get(key)
        if cached and not fresh and cached[1] > time.monotonic():
            return cached[0]
        response = _client().get(f"{base}/cgi-bin/token", params={
            "grant_type": "client_credential", "appid": config["app_id"],
            "secret": config["app_secret"]})
        body = response.json()
        if "access_token" not in body:
            raise RuntimeError(f"WeChat token: {body.get('errcode')} {body.get('errmsg')}")
        expires = float(body.get("expires_in", 7200))
        _tokens[key] = (body["access_token"], time.monotonic() + expires - 300)
        return str(body["access_token"])


def send_wechat(message: Outgoing, config: Mapping[str, Any]) -> Outcome:
    base = str(config.get("endpoint") or WECHAT_URL).rstrip("/")
    payload = {"touser": message.address, "template_id": message.provider_template,
               "data": {k: {"value": str(v)[:200]} for k, v in message.params.items()},
               "client_msg_id": message.key[:64]}  # WeChat drops a repeated client_msg_id
    if config.get("url"):
        payload["url"] = str(config["url"])
    try:
        for attempt in (0, 1):
            token = _token(config, fresh=attempt == 1)
            response = _client().post(f"{base}/cgi-bin/message/template/send",
                                      params={"access_token": token},
                                      content=json.dumps(payload, ensure_ascii=False).encode())
            body = response.json()
            code = int(body.get("errcode", -1))
            if code not in WECHAT_TOKEN_EXPIRED:
                break
    except (httpx.HTTPError, ValueError, RuntimeError) as exc:
        return Outcome(ok=False, error=f"{type(exc).__name__}: {exc}"[:300])
    if code == 0:
        return Outcome(ok=True, provider_id=str(body.get("msgid", "")))
    return Outcome(ok=False, permanent=code in WECHAT_PERMANENT,
                   error=f"{code}: {body.get('errmsg', '')}"[:300])


def send_jpush(message: Outgoing, config: Mapping[str, Any]) -> Outcome:
    payload = {"platform": "all", "audience": {"alias": [message.address]},
               "notification": {"alert": message.body[:200]},
               "options": {"sendno": zlib.crc32(message.key.encode()) % 2**31,
                           "apns_production": bool(config.get("production"))}}
    if message.subject:
        payload["notification"] = {"alert": message.body[:200],
                                   "android": {"alert": message.body[:200],
                                               "title": message.subject}}
    try:
        response = _client().post(str(config.get("endpoint") or JPUSH_URL),
                                  auth=(str(config["app_key"]), str(config["master_secret"])),
                                  json=payload)
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        return Outcome(ok=False, error=f"{type(exc).__name__}: {exc}"[:300])
    if response.status_code == 200 and "msg_id" in body:
        return Outcome(ok=True, provider_id=str(body["msg_id"]))
    error = body.get("error", {}) if isinstance(body, dict) else {}
    # 1011: no device has this alias (the app was removed): it will not work again
    return Outcome(ok=False, permanent=error.get("code") == 1011,
                   error=f"{error.get('code')}: {error.get('message', '')}"[:300])


def send_push_webhook(message: Outgoing, config: Mapping[str, Any]) -> Outcome:
    """POST to the business's own push service, signed per Standard Webhooks (the same
    webhook-id on a retry: the receiver can drop a repeat)."""
    from standardwebhooks.webhooks import Webhook

    body = json.dumps({"type": "push.send", "data": {
        "key": message.key, "user": message.address, "title": message.subject,
        "body": message.body}}, ensure_ascii=False)
    msg_id = f"msg_{message.key}"[:120]
    now = time.time()
    signature = Webhook(str(config["secret"])).sign(
        msg_id, dt.datetime.fromtimestamp(now, dt.UTC), body)
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(int(now)),
               "webhook-signature": signature, "content-type": "application/json"}
    try:
        response = _client().post(str(config["url"]), content=body.encode(), headers=headers)
    except httpx.HTTPError as exc:
        return Outcome(ok=False, error=f"{type(exc).__name__}: {exc}"[:300])
    if 200 <= response.status_code < 300:
        return Outcome(ok=True, provider_id=msg_id)
    return Outcome(ok=False, permanent=response.status_code == 410,
                   error=f"HTTP {response.status_code}")
