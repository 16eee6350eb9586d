"""Guanxi settings. Everything a deployment changes comes from environment variables."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
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


SECRET_KEY = _secret_key()
DEBUG = env_bool("GUANXI_DEBUG")
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
    "guanxi.core",
    "guanxi.accounts",
    "guanxi.audit",
    "guanxi.operations",
    "guanxi.timeline",
    "guanxi.customers",
    "guanxi.dataquality",
    "guanxi.analytics",
    "guanxi.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "guanxi.web.middleware.DomainErrorMiddleware",
    "guanxi.web.middleware.AtomicWritesMiddleware",
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

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

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
HUEY["consumer"] = {"workers": int(os.environ.get("GUANXI_WORKERS", "2")), "worker_type": "thread"}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie-less meta tag instead
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

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
