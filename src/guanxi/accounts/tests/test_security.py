"""Sign-in hardening: lockout and unlock, two-factor sign-in with recovery codes and role
policies, password strength, session limits, "sign out everywhere", API token expiry and
scopes."""

from __future__ import annotations

import time

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from guanxi.accounts.middleware import AUTH_AT, SEEN_AT
from guanxi.accounts.models import ApiToken
from guanxi.accounts.passwords import StrengthValidator
from guanxi.accounts.services import (
    role_policy_set,
    sign_in_unlock,
    token_create,
)
from guanxi.accounts.twofactor import totp_confirm, totp_start
from guanxi.audit.models import AuditEntry
from guanxi.core.errors import InvalidInput
from guanxi.testing import make_customer

pytestmark = pytest.mark.django_db
PASSWORD = "pw-for-tests-1"


def _login(client: Client, username: str, password: str = PASSWORD, **extra):
    return client.post("/accounts/login/", {"username": username, "password": password},
                       **extra)


def _code(device: TOTPDevice, ahead: int = 0) -> str:
    """The code the app shows now (or `ahead` steps later: a used step is never accepted
    twice, and the device allows one step of clock drift)."""
    t0 = device.t0 - ahead * device.step
    return f"{totp(device.bin_key, step=device.step, t0=t0, digits=device.digits):06d}"


def _device(user) -> TOTPDevice:
    device = totp_start(user=user)
    totp_confirm(user=user, device=device, code=_code(device))
    device.refresh_from_db()
    return device


# --- lockout ---------------------------------------------------------------------------

def test_five_wrong_passwords_lock_the_username_until_an_admin_unlocks_it(personas, settings):
    client = Client()
    for _i in range(settings.AXES_FAILURE_LIMIT - 1):
        r = _login(client, "sales", "wrong")
        assert r.status_code == 200 and b"Wrong username or password" in r.content
    # the fifth failure locks; from then on even the right password is refused
    assert _login(client, "sales", "wrong").status_code == 429
    locked = _login(client, "sales")
    assert locked.status_code == 429 and b"locked-out" in locked.content
    assert "_auth_user_id" not in client.session
    # from another address too: the lock is on the username
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert _login(other, "sales").status_code == 429
    # an administrator unlocks it, audited
    sign_in_unlock(actor=personas.admin, username="sales")
    assert AuditEntry.objects.filter(action="user.unlock", object_id="sales").exists()
    assert _login(client, "sales").status_code == 302


def test_many_usernames_from_one_address_lock_the_address(personas, settings):
    client = Client(REMOTE_ADDR="10.1.2.3")
    for i in range(settings.AXES_FAILURE_LIMIT):
        _login(client, f"guess{i}", "wrong")
    assert _login(client, "manager").status_code == 429
    # the account itself is not locked for its owner elsewhere
    assert _login(Client(REMOTE_ADDR="10.9.9.9"), "manager").status_code == 302
    sign_in_unlock(actor=personas.admin, ip_address="10.1.2.3")
    assert _login(client, "manager").status_code == 302


def test_unlock_needs_the_user_manage_permission_and_a_target(personas):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        sign_in_unlock(actor=personas.manager, username="sales")
    with pytest.raises(InvalidInput):
        sign_in_unlock(actor=personas.admin)


def test_the_user_admin_unlocks_and_the_history_shows_sign_ins(client, personas, settings):
    bad = Client()
    for _i in range(settings.AXES_FAILURE_LIMIT):
        _login(bad, "service", "wrong")
    client.force_login(personas.admin)
    r = client.post("/admin/accounts/user/", {"action": "unlock_sign_in",
                                               "_selected_action": [personas.service.pk]})
    assert r.status_code == 302
    assert _login(bad, "service").status_code == 302
    # the user's own page lists the failures and the sign-in
    page = bad.get("/accounts/security/")
    assert page.status_code == 200
    history = page.content.decode()
    assert "wrong password" in history and "signed in" in history


# --- two-factor ------------------------------------------------------------------------

def test_totp_sign_in_asks_for_the_code_and_accepts_a_recovery_code_once(personas, settings):
    # django-otp delays the next try after a wrong code (1 s, doubling); not under test here
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
    device = totp_start(user=personas.sales)
    codes = totp_confirm(user=personas.sales, device=device, code=_code(device))
    assert len(codes) == 10
    client = Client()
    assert _login(client, "sales").status_code == 302
    # every page waits for the code; the API treats the session as signed out
    r = client.get("/customers/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/two-factor/verify/")
    assert client.get("/api/v1/me").status_code == 401
    # a wrong code is refused and audited
    r = client.post("/accounts/two-factor/verify/?next=/customers/", {"code": "000000"})
    assert r.status_code == 200 and b"not right" in r.content
    assert AuditEntry.objects.filter(action="user.two_factor_failed").exists()
    # the right one opens the session
    device.refresh_from_db()
    r = client.post("/accounts/two-factor/verify/", {"code": _code(device, ahead=1),
                                                      "next": "/customers/"})
    assert r.status_code == 302 and r["Location"] == "/customers/"
    assert client.get("/customers/").status_code == 200
    assert client.get("/api/v1/me").status_code == 200
    # a recovery code works once
    second = Client()
    _login(second, "sales")
    assert second.post("/accounts/two-factor/verify/", {"code": codes[0]}).status_code == 302
    third = Client()
    _login(third, "sales")
    assert third.post("/accounts/two-factor/verify/", {"code": codes[0]}).status_code == 200
    assert AuditEntry.objects.filter(action="user.recovery_code_used").count() == 1


def test_an_unverified_session_cannot_replace_the_authenticator(personas):
    _device(personas.sales)
    client = Client()
    _login(client, "sales")
    r = client.get("/accounts/two-factor/setup/")
    assert r.status_code == 302 and "/verify/" in r["Location"]
    assert client.post("/accounts/two-factor/remove/").status_code == 302
    assert TOTPDevice.objects.filter(user=personas.sales, confirmed=True).exists()


def test_a_role_policy_requires_set_up_before_anything_else(personas, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    role_policy_set(actor=personas.admin, role="service", require_two_factor=True)
    assert AuditEntry.objects.filter(action="role_policy.set").exists()
    client = Client()
    _login(client, "service")
    r = client.get("/customers/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/two-factor/setup/")
    page = client.get(r["Location"])
    assert page.status_code == 200 and b"<svg" in page.content
    device = TOTPDevice.objects.get(user=personas.service, confirmed=False)
    r = client.post("/accounts/two-factor/setup/", {"code": "123"})
    assert b"not right" in r.content
    r = client.post("/accounts/two-factor/setup/", {"code": _code(device)})
    assert r.status_code == 200 and b"recovery-codes" in r.content
    assert client.get("/customers/").status_code == 200
    # and the policy stops the user from turning it off
    client.post("/accounts/two-factor/remove/")
    assert TOTPDevice.objects.filter(user=personas.service, confirmed=True).exists()
    # other roles are not affected
    other = Client()
    _login(other, "marketing")
    assert other.get("/customers/").status_code == 200


# --- passwords -------------------------------------------------------------------------

@pytest.mark.parametrize("weak", ["zhang1990", "wangfang88", "woaini1314", "5201314abc",
                                  "liuwei19880808", "qwerty123456"])
def test_easily_guessed_passwords_are_refused(weak):
    with pytest.raises(ValidationError):
        StrengthValidator().validate(weak)


def test_a_password_built_from_the_users_name_is_refused_and_a_phrase_accepted(personas):
    with pytest.raises(ValidationError):
        StrengthValidator().validate("marketing2024", personas.marketing)
    StrengthValidator().validate("tea-house-by-the-west-lake", personas.marketing)


def test_the_password_change_page_applies_the_policy(client, personas):
    client.force_login(personas.sales)
    r = client.post("/accounts/password/", {"old_password": PASSWORD,
                                            "new_password1": "zhang1990",
                                            "new_password2": "zhang1990"})
    assert r.status_code == 200 and b"too easy to guess" in r.content
    r = client.post("/accounts/password/", {"old_password": PASSWORD,
                                            "new_password1": "lantern-river-quiet-47",
                                            "new_password2": "lantern-river-quiet-47"})
    assert r.status_code == 302


# --- sessions --------------------------------------------------------------------------

def test_an_idle_session_ends_and_so_does_an_old_one(personas, settings):
    client = Client()
    _login(client, "sales")
    assert client.get("/customers/").status_code == 200
    session = client.session
    session[SEEN_AT] = int(time.time()) - settings.GUANXI_SESSION_IDLE_MINUTES * 60 - 5
    session.save()
    r = client.get("/customers/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
    assert client.get("/api/v1/me").status_code == 401
    # active all day, but past the absolute limit
    _login(client, "sales")
    session = client.session
    session[AUTH_AT] = int(time.time()) - settings.GUANXI_SESSION_MAX_HOURS * 3600 - 5
    session.save()
    assert client.get("/customers/")["Location"].startswith("/accounts/login/")


def test_sign_out_everywhere_ends_the_other_sessions_only(personas):
    laptop, phone = Client(), Client()
    _login(laptop, "sales")
    _login(phone, "sales")
    assert phone.get("/customers/").status_code == 200
    assert laptop.post("/accounts/security/sessions/end/").status_code == 302
    assert laptop.get("/customers/").status_code == 200
    assert phone.get("/customers/").status_code == 302
    assert AuditEntry.objects.filter(action="user.sessions_end").exists()


# --- API tokens ------------------------------------------------------------------------

def _auth(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_a_token_expires(client, personas, settings):
    token, secret = token_create(actor=personas.sales, user=personas.sales, name="shop",
                                 days=1)
    assert token.expires_at > timezone.now()
    assert client.get("/api/v1/me", **_auth(secret)).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now())
    r = client.get("/api/v1/me", **_auth(secret))
    assert r.status_code == 401
    with pytest.raises(InvalidInput) as err:
        token_create(actor=None, user=personas.sales, days=settings.GUANXI_API_TOKEN_MAX_DAYS + 1)
    assert err.value.errors[0].field == "days"


def test_token_scopes_limit_reads_writes_and_apps(client, personas):
    customer = make_customer(personas.manager, full_name="王芳")
    _t, read_all = token_create(actor=None, user=personas.manager, scopes=["read"])
    _t, customers_only = token_create(actor=None, user=personas.manager,
                                      scopes=["customers:write"])
    # read: every app's GET, no write
    assert client.get("/api/v1/customers", **_auth(read_all)).status_code == 200
    assert client.get("/api/v1/segments", **_auth(read_all)).status_code == 200
    r = client.patch(f"/api/v1/customers/{customer.pk}", {"occupation": "教师"},
                     content_type="application/json", **_auth(read_all))
    assert r.status_code == 403 and "read" in r.json()["detail"]
    # customers:write: customers' endpoints (reads included), nothing else
    r = client.patch(f"/api/v1/customers/{customer.pk}", {"occupation": "教师"},
                     content_type="application/json", **_auth(customers_only))
    assert r.status_code == 200
    assert client.get("/api/v1/segments", **_auth(customers_only)).status_code == 403
    assert client.get("/api/v1/me", **_auth(customers_only)).status_code == 200
    with pytest.raises(InvalidInput):
        token_create(actor=None, user=personas.manager, scopes=["everything"])


def test_a_user_makes_and_revokes_their_own_tokens_on_the_security_page(client, personas):
    client.force_login(personas.marketing)
    r = client.post("/accounts/security/tokens/new/", {
        "name": "newsletter", "scopes": ["customers:read"], "days": "30"})
    assert r.status_code == 200
    secret = r.context["secret"]
    token = ApiToken.objects.get(user=personas.marketing, name="newsletter")
    assert token.scopes == ["customers:read"]
    assert (token.expires_at - timezone.now()).days in (29, 30)
    api = Client()  # no session: the token alone
    assert api.get("/api/v1/customers", **_auth(secret)).status_code == 200
    bad = client.post("/accounts/security/tokens/new/", {"name": "x", "scopes": [],
                                                          "days": "9999"})
    assert bad.status_code == 422
    # another user's token is not theirs to revoke
    other, _s = token_create(actor=None, user=personas.sales)
    assert client.post(f"/accounts/security/tokens/{other.pk}/revoke/").status_code == 404
    client.post(f"/accounts/security/tokens/{token.pk}/revoke/")
    assert api.get("/api/v1/customers", **_auth(secret)).status_code == 401


def test_behind_a_proxy_the_lockout_is_per_forwarded_address(personas, settings):
    settings.GUANXI_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    attacker = Client(HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9", **proxy)
    for i in range(settings.AXES_FAILURE_LIMIT):
        _login(attacker, f"guess{i}", "wrong")
    assert _login(attacker, "manager").status_code == 429
    # another client behind the same proxy is not locked out; a forged left-most entry
    # does not help the attacker
    colleague = Client(HTTP_X_FORWARDED_FOR="198.51.100.7", **proxy)
    assert _login(colleague, "manager").status_code == 302
    forged = Client(HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.9", **proxy)
    assert _login(forged, "manager").status_code == 429
