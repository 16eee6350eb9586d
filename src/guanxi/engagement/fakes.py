"""Fake provider servers, used by the tests, the benchmark and the demo: they speak the
providers' HTTP APIs (Aliyun SendSms, Tencent Cloud SendSms, WeChat token and template
messages, JPush, a push webhook), check the signatures and keep what they received, so
Guanxi can be tried without an account anywhere.

    python -m guanxi fakeproviders --port 8025

Numbers ending in 0000 and OpenIDs/aliases starting with "gone" are refused the way the
real providers refuse a number or follower that does not exist; a server switched to
`failing` answers 500 to everything."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlparse

from guanxi.engagement.providers.sms import aliyun_signature, tencent_headers

SECRETS = {"aliyun": "fake-aliyun-secret", "tencent": "fake-tencent-key",
           "wechat": "fake-wechat-secret", "jpush": "fake-jpush-master"}


class FakeProviders:
    """Start with `start()`; `url` is its address; `received` what it accepted."""

    def __init__(self, port: int = 0) -> None:
        self.received: list[dict[str, Any]] = []
        self.failing = False
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeProviders:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def of(self, provider: str) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.received if r["provider"] == provider]

    def config(self, provider: str) -> dict[str, Any]:
        """ChannelSetup settings pointing a provider at this server."""
        return {
            "aliyun": {"access_key_id": "fake-id", "access_key_secret": SECRETS["aliyun"],
                       "sign": "龙井茶庄", "endpoint": f"{self.url}/aliyun/"},
            "tencent": {"secret_id": "fake-id", "secret_key": SECRETS["tencent"],
                        "app_id": "1400000000", "sign": "龙井茶庄",
                        "endpoint": f"{self.url}/tencent/"},
            "wechat": {"app_id": "wxfake", "app_secret": SECRETS["wechat"],
                       "endpoint": f"{self.url}/wechat"},
            "jpush": {"app_key": "fake-app", "master_secret": SECRETS["jpush"],
                      "endpoint": f"{self.url}/jpush/v3/push"},
        }[provider]

    def _keep(self, provider: str, record: dict[str, Any]) -> int:
        with self._lock:
            self.received.append({"provider": provider, **record})
            return len(self.received)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = dict(parse_qsl(url.query))
                if url.path == "/wechat/cgi-bin/token":
                    if query.get("secret") != SECRETS["wechat"]:
                        return self._answer(200, {"errcode": 40125, "errmsg": "bad secret"})
                    return self._answer(200, {"access_token": "fake-token", "expires_in": 7200})
                return self._answer(404, {})

            def do_POST(self) -> None:
                if fake.failing:
                    return self._answer(500, {"error": "down"})
                url = urlparse(self.path)
                body = self._body()
                if url.path == "/aliyun/":
                    return self._aliyun(dict(parse_qsl(body.decode())))
                if url.path == "/tencent/":
                    return self._tencent(body)
                if url.path == "/wechat/cgi-bin/message/template/send":
                    return self._wechat(dict(parse_qsl(url.query)), json.loads(body))
                if url.path == "/jpush/v3/push":
                    return self._jpush(json.loads(body))
                return self._answer(404, {})

            def _aliyun(self, params: dict[str, str]) -> None:
                signature = params.pop("Signature", "")
                if signature != aliyun_signature(SECRETS["aliyun"], "POST", params):
                    return self._answer(400, {"Code": "SignatureDoesNotMatch"})
                if params["PhoneNumbers"].endswith("0000"):
                    return self._answer(200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL",
                                              "Message": "invalid number"})
                n = fake._keep("aliyun", {"to": params["PhoneNumbers"],
                                          "key": params["OutId"],
                                          "template": params["TemplateCode"],
                                          "params": json.loads(params["TemplateParam"]),
                                          "sign": params["SignName"]})
                return self._answer(200, {"Code": "OK", "BizId": f"biz{n}", "Message": "OK"})

            def _tencent(self, body: bytes) -> None:
                text = body.decode()
                expected = tencent_headers(
                    secret_id="fake-id", secret_key=SECRETS["tencent"],  # noqa: S106
                    host=self.headers["Host"], body=text,
                    timestamp=int(self.headers["X-TC-Timestamp"]),
                    region=self.headers["X-TC-Region"])
                if self.headers["Authorization"] != expected["Authorization"]:
                    return self._answer(200, {"Response": {"Error": {
                        "Code": "AuthFailure.SignatureFailure", "Message": "bad signature"}}})
                data = json.loads(text)
                phone = data["PhoneNumberSet"][0]
                if phone.endswith("0000"):
                    return self._answer(200, {"Response": {"SendStatusSet": [{
                        "Code": "InvalidParameterValue.IncorrectPhoneNumber",
                        "Message": "invalid number", "PhoneNumber": phone}]}})
                n = fake._keep("tencent", {"to": phone, "key": data["SessionContext"],
                                           "template": data["TemplateId"],
                                           "params": data["TemplateParamSet"],
                                           "sign": data["SignName"]})
                return self._answer(200, {"Response": {"SendStatusSet": [{
                    "SerialNo": f"serial{n}", "PhoneNumber": phone, "Code": "Ok",
                    "Message": "send success"}], "RequestId": f"req{n}"}})

            def _wechat(self, query: dict[str, str], data: dict[str, Any]) -> None:
                if query.get("access_token") != "fake-token":
                    return self._answer(200, {"errcode": 40001, "errmsg": "invalid token"})
                if data["touser"].startswith("gone"):
                    return self._answer(200, {"errcode": 43004, "errmsg": "require subscribe"})
                n = fake._keep("wechat", {"to": data["touser"], "key": data["client_msg_id"],
                                          "template": data["template_id"],
                                          "params": {k: v["value"]
                                                     for k, v in data["data"].items()}})
                return self._answer(200, {"errcode": 0, "errmsg": "ok", "msgid": n})

            def _jpush(self, data: dict[str, Any]) -> None:
                auth = self.headers.get("Authorization", "")
                expected = base64.b64encode(f"fake-app:{SECRETS['jpush']}".encode()).decode()
                if auth != f"Basic {expected}":
                    return self._answer(401, {"error": {"code": 1004, "message": "auth"}})
                alias = data["audience"]["alias"][0]
                if alias.startswith("gone"):
                    return self._answer(400, {"error": {"code": 1011, "message": "no target"}})
                n = fake._keep("jpush", {"to": alias, "alert": data["notification"]["alert"],
                                         "key": str(data["options"]["sendno"])})
                return self._answer(200, {"sendno": str(data["options"]["sendno"]),
                                          "msg_id": str(n)})

        return Handler
