"""Guanxi settings. Everything a deployment changes comes from environment variables."""

from __future__ import annotations

import json
import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

PACKAGE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("GUANXI_VAR_DIR", Path.cwd() / "var")).resolve()


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _secret_key() -> str:
    if key := os.environ.get("GUANXI_SECRET_KEY"):
        return key
    # A laptop install keeps a generated key in var/ so sessions survive restarts.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


# GUANXI_ENV=production: secure cookies, HSTS, HTTPS redirect behind a proxy, and a
# secret key that must come from the environment (`guanxi check --deploy` passes clean).
GUANXI_ENV = os.environ.get("GUANXI_ENV", "development").strip().lower()
if GUANXI_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"GUANXI_ENV must be development or production, not {GUANXI_ENV!r}")
PRODUCTION = GUANXI_ENV == "production"
if PRODUCTION and not os.environ.get("GUANXI_SECRET_KEY"):
    raise ImproperlyConfigured("GUANXI_ENV=production needs GUANXI_SECRET_KEY (50+ random "
                               "characters, the same on every web and worker machine)")
SECRET_KEY = _secret_key()
GUANXI_PROXY_COUNT = int(os.environ.get("GUANXI_PROXY_COUNT", "1" if PRODUCTION else "0"))
DEBUG = env_bool("GUANXI_DEBUG") and not PRODUCTION
ALLOWED_HOSTS = env_list("GUANXI_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("GUANXI_CSRF_TRUSTED_ORIGINS", "http://127.0.0.1:8000")

# The table the timeline kernel (guanxi.timeline) appends to and reads.
GUANXI_TIMELINE_EVENT_MODEL = "customers.Event"

INSTALLED_APPS = [
    "guanxi.core.adminapps.GuanxiAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "huey.contrib.djhuey",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    "guanxi.core",
    "guanxi.accounts",
    "guanxi.audit",
    "guanxi.operations",
    "guanxi.timeline",
    "guanxi.customers",
    "guanxi.dataquality",
    "guanxi.analytics",
    "guanxi.automation",
    "guanxi.engagement",
    "guanxi.integrations",
    "guanxi.servicedesk",
    "guanxi.loyalty",
    "guanxi.privacy",
    "guanxi.web",
    "django.forms",  # after guanxi.web, whose django/forms/ templates give widgets Tabler's classes
]

FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "guanxi.web.middleware.SecurityHeadersMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "guanxi.accounts.middleware.SessionLimitsMiddleware",
    "guanxi.accounts.middleware.TwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "guanxi.web.middleware.DomainErrorMiddleware",
    "guanxi.web.middleware.AtomicWritesMiddleware",
    # Last: it answers a locked-out sign-in with the lockout page (HTTP 429).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "guanxi.config.urls"
WSGI_APPLICATION = "guanxi.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "guanxi.web.context_processors.navigation",
                "csp.context_processors.nonce",
            ],
        },
    }
]

SQLITE_PATH = VAR_DIR / "guanxi.sqlite3"
DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{SQLITE_PATH}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=600)}
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Persistent connections keep SQLite's page cache warm between requests; a new
    # connection per request starts cold and re-runs the PRAGMAs below.
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers and one writer work at once; IMMEDIATE takes the write
        # lock at BEGIN so two writers queue instead of failing with "locked".
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL;"
            "PRAGMA synchronous=NORMAL;"
            "PRAGMA temp_store=MEMORY;"
            f"PRAGMA cache_size=-{int(os.environ.get('GUANXI_SQLITE_CACHE_MB', '64')) * 1024};"
            f"PRAGMA mmap_size={int(os.environ.get('GUANXI_SQLITE_MMAP_MB', '256')) * 2**20};"
            # Checkpoint every ~64 MB of WAL instead of 4 MB: fewer fsyncs under bulk ingest.
            "PRAGMA wal_autocheckpoint=16384;"
        ),
    }
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("GUANXI_TEST_SQLITE") or None}
else:
    DATABASES["default"].setdefault("TEST", {})["NAME"] = os.environ.get(
        "GUANXI_TEST_DB_NAME", "test_guanxi"
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "customers:list"
LOGOUT_REDIRECT_URL = "login"

AUTHENTICATION_BACKENDS = [
    # First: it refuses a locked-out username or address before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": int(os.environ.get("GUANXI_PASSWORD_MIN_LENGTH", "10"))}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "guanxi.accounts.passwords.StrengthValidator"},
]

# Sign-in throttling (django-axes): after GUANXI_LOGIN_FAILURES wrong passwords for one
# username, or from one address, that username or address is locked out for
# GUANXI_LOGIN_LOCKOUT_MINUTES (administrators unlock sooner: Administration > Access
# attempts, or `guanxi axes_reset_username NAME`).
AXES_FAILURE_LIMIT = int(os.environ.get("GUANXI_LOGIN_FAILURES", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("GUANXI_LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_ENABLE_ADMIN = False  # Guanxi's own role-checked pages (accounts/admin.py)
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
AXES_CLIENT_IP_CALLABLE = "guanxi.accounts.middleware.client_ip"
# Proxies in front of Guanxi that append to X-Forwarded-For (1 behind one nginx; 0: none,
# the address is the connection's). Production assumes one.
# Sessions: signed out after GUANXI_SESSION_IDLE_MINUTES without a request, and
# GUANXI_SESSION_MAX_HOURS after signing in whatever happens.
GUANXI_SESSION_IDLE_MINUTES = int(os.environ.get("GUANXI_SESSION_IDLE_MINUTES", "30"))
GUANXI_SESSION_MAX_HOURS = int(os.environ.get("GUANXI_SESSION_MAX_HOURS", "12"))
SESSION_COOKIE_AGE = GUANXI_SESSION_MAX_HOURS * 3600
# API tokens expire: GUANXI_API_TOKEN_DAYS unless the creator picks (at most the maximum).
GUANXI_API_TOKEN_DAYS = int(os.environ.get("GUANXI_API_TOKEN_DAYS", "90"))
GUANXI_API_TOKEN_MAX_DAYS = int(os.environ.get("GUANXI_API_TOKEN_MAX_DAYS", "365"))
OTP_TOTP_ISSUER = "Guanxi"
# Retention (docs/privacy.md): how long each kind of data is kept; 0 keeps it. The nightly
# job deletes or anonymises what is older; `guanxi retention` previews it.
GUANXI_RETAIN_IMPORT_FILES_DAYS = int(os.environ.get("GUANXI_RETAIN_IMPORT_FILES_DAYS", "30"))
GUANXI_RETAIN_SIGN_IN_DAYS = int(os.environ.get("GUANXI_RETAIN_SIGN_IN_DAYS", "365"))
GUANXI_RETAIN_INACTIVE_CUSTOMERS_YEARS = int(
    os.environ.get("GUANXI_RETAIN_INACTIVE_CUSTOMERS_YEARS", "0"))
GUANXI_RETAIN_AUDIT_VALUES_YEARS = int(os.environ.get("GUANXI_RETAIN_AUDIT_VALUES_YEARS", "0"))

LANGUAGE_CODE = "en"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = os.environ.get("GUANXI_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

REDIS_URL = os.environ.get("HUEY_REDIS_URL") or os.environ.get("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

if REDIS_URL:
    HUEY = {"huey_class": "huey.RedisHuey", "name": "guanxi", "url": REDIS_URL,
            "immediate": env_bool("GUANXI_HUEY_IMMEDIATE")}
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "guanxi",
        "filename": str(VAR_DIR / "huey.sqlite3"),
        "immediate": env_bool("GUANXI_HUEY_IMMEDIATE"),
    }
# Outbound webhooks: seconds to wait for an answer; days of failure before an endpoint
# is switched off (docs/automation.md).
GUANXI_WEBHOOK_TIMEOUT_S = float(os.environ.get("GUANXI_WEBHOOK_TIMEOUT_S", "10"))
GUANXI_WEBHOOK_DISABLE_DAYS = float(os.environ.get("GUANXI_WEBHOOK_DISABLE_DAYS", "5"))
# Messages (docs/engagement.md): the address customers reach Guanxi at (links in messages:
# unsubscribe, click tracking, the open pixel), the business's name in templates, and
# the sender of emails.
GUANXI_PUBLIC_URL = os.environ.get("GUANXI_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
GUANXI_BUSINESS_NAME = os.environ.get("GUANXI_BUSINESS_NAME", "Guanxi")
DEFAULT_FROM_EMAIL = os.environ.get("GUANXI_EMAIL_FROM", "guanxi@localhost")
EMAIL_HOST = os.environ.get("GUANXI_SMTP_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("GUANXI_SMTP_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("GUANXI_SMTP_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("GUANXI_SMTP_PASSWORD", "")
# An email service used through django-anymail: its API key(s) as JSON in GUANXI_ANYMAIL
# (e.g. {"POSTMARK_SERVER_TOKEN": "…"}); GUANXI_ANYMAIL_WEBHOOK_SECRET ("user:password")
# guards its tracking webhooks at /anymail/<service>/tracking/.
ANYMAIL = {**json.loads(os.environ.get("GUANXI_ANYMAIL", "{}")),
           "WEBHOOK_SECRET": os.environ.get("GUANXI_ANYMAIL_WEBHOOK_SECRET", "")}
HUEY["consumer"] = {"workers": int(os.environ.get("GUANXI_WORKERS", "2")), "worker_type": "thread"}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie-less meta tag instead
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Sent on every answer by guanxi.web.middleware.SecurityHeadersMiddleware.
GUANXI_PERMISSIONS_POLICY = ("accelerometer=(), camera=(), geolocation=(), gyroscope=(), "
                             "magnetometer=(), microphone=(), payment=(), usb=()")
# Content Security Policy (django-csp): scripts only from Guanxi's own files or a tag
# carrying this answer's nonce; no inline event handlers, no eval, no framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        # Inline style attributes are still used by templates and by the vendored
        # Swagger UI; scripts are where injected code would run.
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("GUANXI_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the load balancer's plain-HTTP probe
    SECURE_HSTS_SECONDS = int(os.environ.get("GUANXI_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("GUANXI_HSTS_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("GUANXI_HSTS_PRELOAD", True)
    # Behind a TLS-terminating proxy: the header (and value) it sets on HTTPS requests.
    _proxy = os.environ.get("GUANXI_PROXY_SSL_HEADER", "X-Forwarded-Proto: https")
    if _proxy.strip():
        _header, _sep, _value = _proxy.partition(":")
        SECURE_PROXY_SSL_HEADER = ("HTTP_" + _header.strip().upper().replace("-", "_"),
                                   _value.strip())

# Guanxi's own settings
GUANXI_DEFAULT_REGION = os.environ.get("GUANXI_DEFAULT_REGION", "CN")
# Import limits, checked before anything is written.
GUANXI_IMPORT_MAX_BYTES = int(os.environ.get("GUANXI_IMPORT_MAX_MB", "500")) * 1024 * 1024
GUANXI_IMPORT_MAX_ROWS = int(os.environ.get("GUANXI_IMPORT_MAX_ROWS", "2000000"))
# Survivorship when merging duplicates: a value from an earlier source wins a tie.
GUANXI_SOURCE_PRIORITY = ("pos", "shop", "app", "wechat", "web", "phone", "api", "import",
                          "referral", "other")
GUANXI_DEFAULT_CURRENCY = os.environ.get("GUANXI_DEFAULT_CURRENCY", "CNY")
GUANXI_API_RATE = os.environ.get("GUANXI_API_RATE", "1200/m")  # per token: N/s, N/m, N/h, N/d
GUANXI_API_MAX_BULK = 1000

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s",
                             "datefmt": "%H:%M:%S"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("GUANXI_LOG_LEVEL", "WARNING")},
    # Its own handler and no propagation: with a handler here run_huey adds none, so each
    # worker line is printed once.
    "loggers": {"huey": {"level": "INFO", "handlers": ["console"], "propagate": False}},
}
