"""Settings: every value from the environment is read here, once, with safe defaults."""

import os
import warnings
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from .env import count, flag, host_list, message_rate, network_list, origin_list, seconds

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CHAT_VAR_DIR", BASE_DIR / "var"))

DEBUG = flag(os.environ, "DJANGO_DEBUG", False)

_DEV_SECRET = "dev-insecure-0b4c2f8e-change-me"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or _DEV_SECRET
if SECRET_KEY == _DEV_SECRET and not DEBUG:
    warnings.warn(
        "DJANGO_SECRET_KEY is not set while DJANGO_DEBUG is off: a development key is used. "
        "Set DJANGO_SECRET_KEY for any real deployment.",
        RuntimeWarning,
        stacklevel=1,
    )

ALLOWED_HOSTS = host_list(os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost"))
# Origins whose POSTs pass CSRF's origin check besides the request's own host (a proxy
# on another port or name): scheme://host[:port], comma-separated.
CSRF_TRUSTED_ORIGINS = origin_list(os.environ.get("CSRF_TRUSTED_ORIGINS", ""))

# The one Redis of every part of the server. Default: the development Redis of `make run`.
DEV_REDIS_URL = f"unix://{VAR_DIR / 'redis' / 'redis.sock'}"
REDIS_URL_FROM_ENV = bool(os.environ.get("REDIS_URL"))
REDIS_URL = os.environ.get("REDIS_URL") or DEV_REDIS_URL
# The sentinels' own password (redis+sentinel:// URLs; the URL's password is the primary's).
REDIS_SENTINEL_PASSWORD = os.environ.get("REDIS_SENTINEL_PASSWORD") or None
# Seconds without an answering primary before sockets are closed with 4012; None: 1.5, or
# 10 with a Sentinel URL (redis_core.options.loss_grace).
REDIS_LOSS_GRACE = seconds(os.environ, "REDIS_LOSS_GRACE", None)
# Old import paths that forward to redis_core's manager; check_redis_ssot verifies each.
REDIS_CORE_LEGACY_MODULES = ["chat.redis_client", "chatproject.redis", "redis_core.compat"]

# No persistent connections: under ASGI every sync view and every database_sync_to_async
# call may run in another thread, and a connection kept per thread is never reused or
# closed (100 requests left ~200 SQLite descriptors open; PostgreSQL saw dozens of idle
# connections per process). Django's documentation says to disable them under ASGI; on
# PostgreSQL its connection pool (psycopg_pool, Django 5.1+) is the supported alternative.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=0,  # Django requires 0 with a pool, and SQLite opens a file in microseconds
    )
}
# Connections one process may hold open at once (PostgreSQL only): size the server's
# max_connections for processes x DATABASE_POOL_MAX, plus room for psql and migrations.
DATABASE_POOL_MIN = count(os.environ, "DATABASE_POOL_MIN", 1)
DATABASE_POOL_MAX = count(os.environ, "DATABASE_POOL_MAX", 10)
# Seconds a request waits for a free pooled connection before it fails (PoolTimeout).
DATABASE_POOL_TIMEOUT = count(os.environ, "DATABASE_POOL_TIMEOUT", 10)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django then has the pool check a connection before handing it out (one round trip):
    # after a database restart the pool holds only dead ones, each failing one request.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASE_POOL_MAX < 1 or DATABASE_POOL_MIN > DATABASE_POOL_MAX:
        raise ImproperlyConfigured(
            f"DATABASE_POOL_MIN={DATABASE_POOL_MIN}, DATABASE_POOL_MAX={DATABASE_POOL_MAX}: "
            "use 1 <= DATABASE_POOL_MAX and DATABASE_POOL_MIN <= DATABASE_POOL_MAX."
        )
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": DATABASE_POOL_MIN,
        "max_size": DATABASE_POOL_MAX,
        "timeout": DATABASE_POOL_TIMEOUT or 10,
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several daphne processes may share the file: wait for locks, take them up front.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

# Threads storing posts on PostgreSQL, each holding one pooled connection, so that busy
# rooms do not wait for each other (chat.realtime.writer); SQLite has one writer anyway.
CHAT_DB_WRITERS = count(os.environ, "CHAT_DB_WRITERS", 4)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and not (
    1 <= CHAT_DB_WRITERS <= DATABASE_POOL_MAX - 2
):
    raise ImproperlyConfigured(
        f"CHAT_DB_WRITERS={CHAT_DB_WRITERS} with DATABASE_POOL_MAX={DATABASE_POOL_MAX}: the "
        "writers, the real-time side and HTTP requests share the pool; use "
        "1 <= CHAT_DB_WRITERS <= DATABASE_POOL_MAX - 2."
    )

CHAT_MESSAGE_RATE = message_rate(os.environ.get("CHAT_MESSAGE_RATE", "30/10"))
# New WebSocket connections per client address and per user, and log-in attempts.
CHAT_CONNECT_RATE_IP = message_rate(
    os.environ.get("CHAT_CONNECT_RATE_IP", "1200/60"), "CHAT_CONNECT_RATE_IP"
)
CHAT_CONNECT_RATE_USER = message_rate(
    os.environ.get("CHAT_CONNECT_RATE_USER", "240/60"), "CHAT_CONNECT_RATE_USER"
)
# Sockets open at once per client address and per user, across processes (0: no cap).
CHAT_CONNECTIONS_PER_IP = count(os.environ, "CHAT_CONNECTIONS_PER_IP", 500)
CHAT_CONNECTIONS_PER_USER = count(os.environ, "CHAT_CONNECTIONS_PER_USER", 50)
# Every client frame costs tokens of a per-connection budget (history 5, resume 10, any
# other 1): N tokens, refilled over S seconds. Far above what the browser client sends.
CHAT_FRAME_BUDGET = message_rate(os.environ.get("CHAT_FRAME_BUDGET", "100/5"), "CHAT_FRAME_BUDGET")
# New public rooms a user may create (by opening them).
CHAT_ROOM_CREATE_RATE = message_rate(
    os.environ.get("CHAT_ROOM_CREATE_RATE", "20/3600"), "CHAT_ROOM_CREATE_RATE"
)
# Log-in attempts per (address, user name) pair, per user name from anywhere, per address.
CHAT_LOGIN_RATE_PAIR = message_rate(
    os.environ.get("CHAT_LOGIN_RATE_PAIR", "10/600"), "CHAT_LOGIN_RATE_PAIR"
)
CHAT_LOGIN_RATE_USER = message_rate(
    os.environ.get("CHAT_LOGIN_RATE_USER", "100/3600"), "CHAT_LOGIN_RATE_USER"
)
CHAT_LOGIN_RATE_IP = message_rate(
    os.environ.get("CHAT_LOGIN_RATE_IP", "50/300"), "CHAT_LOGIN_RATE_IP"
)
CHAT_SIGNUP_RATE_IP = message_rate(
    os.environ.get("CHAT_SIGNUP_RATE_IP", "5/3600"), "CHAT_SIGNUP_RATE_IP"
)

# Who may scrape /metrics: client addresses (CIDRs), and anyone with the bearer token.
CHAT_METRICS_ALLOW = network_list(os.environ.get("CHAT_METRICS_ALLOW", "127.0.0.0/8,::1"))
CHAT_METRICS_TOKEN = os.environ.get("CHAT_METRICS_TOKEN", "")

INSTALLED_APPS = [
    "chatproject.apps.DaphneConfig",  # first: `runserver` serves HTTP and WebSocket
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "redis_core.apps.RedisCoreConfig",
    "chat.apps.ChatConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "chat.admin_csp.AdminContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "chatproject.urls"
ASGI_APPLICATION = "chatproject.asgi.application"
TEST_RUNNER = "chatproject.test_runner.PytestRunner"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "redis_core.layers.SharedRedisChannelLayer",
        "CONFIG": {"capacity": 1000, "expiry": 60, "group_expiry": 86400},
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "chat.passwords.VisibleCharactersValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# `manage.py collectstatic` writes here; in production the reverse proxy serves it
# (docs/operations.md), in development the app serves it (chat/views.py static_file).
STATIC_ROOT = VAR_DIR / "static"
# Hashed names (chat.3f2a9c1b.css, cached for ever by browsers and proxies) when DEBUG is
# off: pages then need `collectstatic`'s manifest, so it runs before serving (make run, the
# test stacks, the deploy). CHAT_STATIC_MANIFEST=0 turns it off (the pytest session does).
CHAT_STATIC_MANIFEST = flag(os.environ, "CHAT_STATIC_MANIFEST", not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
        if CHAT_STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "chatproject.staticfinders.CollectedFinder",  # STATIC_ROOT: the hashed copies
]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
HTTPS = flag(os.environ, "DJANGO_HTTPS", False)  # TLS at daphne or at the proxy
CSRF_COOKIE_HTTPONLY = True  # no script reads csrftoken
if not DEBUG:
    # Secure cookies are opt-in: the contract runs DJANGO_DEBUG=0 over plain HTTP too.
    SESSION_COOKIE_SECURE = HTTPS or flag(os.environ, "DJANGO_SECURE_COOKIES", False)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    if HTTPS:
        SECURE_SSL_REDIRECT = True
        SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
        SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))

# One format for every line a process prints (chatproject/logfmt.py): the chat's loggers,
# Django's (`django`, `django.request`, `django.server` of runserver), daphne's, and the
# root logger for anything else. Replaces Django's defaults for the loggers named here.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "kv": {
            "()": "chatproject.logfmt.LogfmtFormatter",
            "format": "ts=%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
            "datefmt": "%Y-%m-%dT%H:%M:%S%z",  # no space: every field is key=value
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "kv"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "chat": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "redis_core": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # django.request (4xx warnings, 5xx errors with their traceback) propagates here.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # daphne's start-up lines (listening on ...) and its errors.
        "daphne": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
