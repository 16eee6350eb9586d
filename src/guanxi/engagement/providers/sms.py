"""SMS through Aliyun (Dysmsapi 2017-05-25 SendSms, RPC signature HMAC-SHA1) and Tencent
Cloud (SMS 2021-01-11 SendSms, TC3-HMAC-SHA256), called over their signed HTTP APIs.

Both send a registered template (`provider_template`: Aliyun SMS_123456, Tencent
1234567) under a registered sign (【品牌】); the rendered variables go as the template's
parameters. Neither API takes an idempotency key: the message key rides along (Aliyun
OutId, Tencent SessionContext) so status reports find their message, but a send
repeated after a crash between the provider's answer and Guanxi's record can reach the
phone twice (docs/engagement.md).

Status reports and replies come back to /m/sms/<channel token>/report and /reply
(engagement.inbound)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from guanxi.engagement.providers import Outcome, Outgoing

ALIYUN_URL = "https://dysmsapi.aliyuncs.com/"
TENCENT_URL = "https://sms.tencentcloudapi.com/"
TIMEOUT_S = 10.0
# Answers that mean the number will never work (the address is suppressed).
ALIYUN_PERMANENT = {"isv.MOBILE_NUMBER_ILLEGAL", "isv.MOBILE_COUNT_OVER_LIMIT",
                    "isv.BLACK_KEY_CONTROL_LIMIT"}
TENCENT_PERMANENT = {"InvalidParameterValue.IncorrectPhoneNumber",
                     "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber",
                     "FailedOperation.PhoneNumberInBlacklist"}

_local = threading.local()


def _client() -> httpx.Client:
    client = getattr(_local, "client", None)
    if client is None:
        client = _local.client = httpx.Client(follow_redirects=False, timeout=TIMEOUT_S)
    return client


def _national(phone: str) -> str:
    """Aliyun takes mainland numbers without +86."""
    return phone[3:] if phone.startswith("+86") else phone.lstrip("+")


# --- Aliyun -----------------------------------------------------------------------------

def _pct(value: str) -> str:
    return quote(value, safe="~")


def aliyun_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    query = "&".join(f"{_pct(k)}={_pct(str(v))}" for k, v in sorted(params.items()))
    return f"{method}&{_pct('/')}&{_pct(query)}"


def aliyun_signature(secret: str, method: str, params: Mapping[str, str]) -> str:
    digest = hmac.new(f"{secret}&".encode(), aliyun_string_to_sign(method, params).encode(),
                      hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def send_aliyun(message: Outgoing, config: Mapping[str, Any]) -> Outcome:
    params = {
        "AccessKeyId": str(config["access_key_id"]), "Action": "SendSms", "Format": "JSON",
        "RegionId": str(config.get("region") or "cn-hangzhou"),
        "SignatureMethod": "HMAC-SHA1", "SignatureNonce": uuid.uuid4().hex,
        "SignatureVersion": "1.0",
        "Timestamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Version": "2017-05-25", "PhoneNumbers": _national(message.address),
        "SignName": str(config["sign"]), "TemplateCode": message.provider_template,
        "TemplateParam": json.dumps(dict(message.params), ensure_ascii=False),
        "OutId": message.key[:64],
    }
    params["Signature"] = aliyun_signature(str(config["access_key_secret"]), "POST", params)
    try:
        response = _client().post(str(config.get("endpoint") or ALIYUN_URL), data=params)
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        return Outcome(ok=False, error=f"{type(exc).__name__}: {exc}"[:300])
    code = str(body.get("Code", ""))
    if code == "OK":
        return Outcome(ok=True, provider_id=str(body.get("BizId", "")))
    return Outcome(ok=False, permanent=code in ALIYUN_PERMANENT,
                   error=f"{code}: {body.get('Message', '')}"[:300])


# --- Tencent Cloud ----------------------------------------------------------------------

def tencent_headers(*, secret_id: str, secret_key: str, host: str, body: str,
                    timestamp: int, region: str) -> dict[str, str]:
    """The TC3-HMAC-SHA256 headers of a SendSms call."""
    content_type = "application/json; charset=utf-8"
    canonical = "\n".join([
        "POST", "/", "", f"content-type:{content_type}", f"host:{host}",
        "x-tc-action:sendsms", "", "content-type;host;x-tc-action",
        hashlib.sha256(body.encode()).hexdigest()])
    date = dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d")
    scope = f"{date}/sms/tc3_request"
    to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])

    def mac(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    signing = mac(mac(mac(f"TC3{secret_key}".encode(), date), "sms"), "tc3_request")
    signature = hmac.new(signing, to_sign.encode(), hashlib.sha256).hexdigest()
    return {"Authorization": (f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, "
                              f"SignedHeaders=content-type;host;x-tc-action, "
                              f"Signature={signature}"),
            "Content-Type": content_type, "Host": host, "X-TC-Action": "SendSms",
            "X-TC-Timestamp": str(timestamp), "X-TC-Version": "2021-01-11",
            "X-TC-Region": region}


def send_tencent(message: Outgoing, config: Mapping[str, Any]) -> Outcome:
    url = str(config.get("endpoint") or TENCENT_URL)
    host = httpx.URL(url).host
    phone = message.address if message.address.startswith("+") else f"+86{message.address}"
    body = json.dumps({
        "PhoneNumberSet": [phone], "SmsSdkAppId": str(config["app_id"]),
        "SignName": str(config["sign"]), "TemplateId": message.provider_template,
        "TemplateParamSet": [str(v) for v in message.params.values()],
        "SessionContext": message.key[:512]}, ensure_ascii=False)
    headers = tencent_headers(secret_id=str(config["secret_id"]),
                              secret_key=str(config["secret_key"]), host=host, body=body,
                              timestamp=int(time.time()),
                              region=str(config.get("region") or "ap-guangzhou"))
    try:
        response = _client().post(url, content=body.encode(), headers=headers)
        answer = response.json().get("Response", {})
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        return Outcome(ok=False, error=f"{type(exc).__name__}: {exc}"[:300])
    if "Error" in answer:
        error = answer["Error"]
        return Outcome(ok=False, permanent=error.get("Code") in TENCENT_PERMANENT,
                       error=f"{error.get('Code')}: {error.get('Message', '')}"[:300])
    status = (answer.get("SendStatusSet") or [{}])[0]
    code = str(status.get("Code", ""))
    if code.lower() == "ok":
        return Outcome(ok=True, provider_id=str(status.get("SerialNo", "")))
    return Outcome(ok=False, permanent=code in TENCENT_PERMANENT,
                   error=f"{code}: {status.get('Message', '')}"[:300])
