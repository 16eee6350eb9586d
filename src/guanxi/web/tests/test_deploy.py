"""Production settings: `guanxi check --deploy` passes clean with GUANXI_ENV=production
(and finds the four warnings the issue found without it), and every answer carries the
security headers."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SECRET = "x7-" + "Kq9vTz2LmP4wRb8NcY6hJd3FgS5eUa1" * 2


def _check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("GUANXI_", "DJANGO_"))}
    return subprocess.run([sys.executable, "-m", "guanxi", "check", "--deploy"],
                          env={**base, **env}, capture_output=True, text=True, timeout=120,
                          check=False)


def test_check_deploy_is_clean_in_production_mode(tmp_path):
    result = _check({"GUANXI_ENV": "production", "GUANXI_SECRET_KEY": SECRET,
                     "GUANXI_ALLOWED_HOSTS": "crm.example.com", "GUANXI_VAR_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_without_production_mode_the_deploy_check_warns(tmp_path):
    result = _check({"GUANXI_SECRET_KEY": SECRET, "GUANXI_VAR_DIR": str(tmp_path)})
    for code in ("W004", "W008", "W012", "W016"):
        assert f"security.{code}" in result.stderr + result.stdout


def test_production_mode_needs_a_secret_key_from_the_environment(tmp_path):
    result = _check({"GUANXI_ENV": "production", "GUANXI_VAR_DIR": str(tmp_path)})
    assert result.returncode != 0 and "GUANXI_SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_pages_carry_csp_with_a_nonce_and_the_other_security_headers(client, personas):
    client.force_login(personas.manager)
    for url in ("/", "/customers/", "/accounts/login/", "/api/v1/docs"):
        r = client.get(url, follow=True)
        csp = r["Content-Security-Policy"]
        assert "script-src 'self' 'nonce-" in csp and "'unsafe-eval'" not in csp
        assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert r["X-Content-Type-Options"] == "nosniff"
        assert r["Referrer-Policy"] == "same-origin"
        assert "camera=()" in r["Permissions-Policy"]
    # the scripts carry this answer's nonce; no inline handlers
    r = client.get("/customers/")
    nonce = r["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    page = r.content.decode()
    assert f'nonce="{nonce}"' in page
    assert not any(f" {h}=" in page for h in ("onchange", "onclick", "onsubmit", "onload"))
