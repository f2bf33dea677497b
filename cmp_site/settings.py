"""Settings, all from the environment with safe defaults.

With nothing set, the project runs on SQLite and the local-memory cache. DATABASE_URL and
REDIS_URL switch it to PostgreSQL and Redis for production.
"""

import os
import re
import tempfile
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")


def _local_secret_key() -> str:
    """For DEBUG only: a key kept beside the code, readable by its owner alone, so that a local
    server survives restarts (API keys are hashed with it)."""
    path = BASE_DIR / ".secret_key"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(get_random_secret_key())
    path.chmod(0o600)
    return path.read_text().strip()


# Nothing starts in production with a key it made up: every server of a deployment must share the
# one that API keys, receipts, checkpoints and webhook secrets are keyed with.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it from your secret store, the same on every server "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))'). "
            "For a local try-out use `make demo`, or DEBUG=1."
        )
    SECRET_KEY = _local_secret_key()
# Older secrets, newest first, while a rotation is under way (consent.services.keys).
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "consent",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "consent.csp.StaffPagesContentSecurityPolicy",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "consent.metrics.middleware.RequestTimer",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

# Staff sign in with a password and a second factor (TOTP, or a one-time recovery code), set up
# with `manage.py setuptotp --user NAME`. CMP_STAFF_2FA=0 turns the second factor off.
CMP_STAFF_2FA = env_bool("CMP_STAFF_2FA", True)
OTP_TOTP_ISSUER = "Consent platform"
# Wrong passwords: after 5 for a username or from an address, that one waits 15 minutes (even with
# the right password).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = int(os.environ.get("CMP_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_RESET_ON_SUCCESS = True

ROOT_URLCONF = "cmp_site.urls"
WSGI_APPLICATION = "cmp_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        # A restarted PostgreSQL leaves dead persistent connections behind: check before reuse.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several threads or workers write at once: WAL lets readers go on beside a writer, IMMEDIATE
    # takes the write lock when a transaction starts (a deferred one that later writes can fail
    # at once with "database is locked", which no timeout helps), and the busy timeout waits.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # The tests' database is a file too, so that the live servers' threads meet the same locking
    # as production (an in-memory database shared between threads answers "table is locked"); one
    # per test run, so that two runs on one machine do not share it.
    DATABASES["default"]["TEST"] = {"NAME": str(Path(tempfile.gettempdir()) / f"cmp-test-{os.getpid()}.sqlite3")}

# Read replicas, comma-separated URLs (docs/operations.md, "Read replicas"), as replica_1, replica_2...
# The dashboard and its CSV, a visitor's history and export and the proof's verification read from
# one that answers and is at most CMP_REPLICA_MAX_LAG_SECONDS behind (consent.replicas); the check
# and every write stay on the primary. Tests create no database there: a streaming replica already
# holds the primary's.
CMP_READ_REPLICAS: list[str] = []
for number, url in enumerate(env_list("DATABASE_REPLICA_URLS"), 1):
    replica = dj_database_url.parse(
        url,
        conn_max_age=DATABASES["default"]["CONN_MAX_AGE"],
        conn_health_checks=True,
        test_options={"MIRROR": "default"},
    )
    if "postgresql" not in DATABASES["default"]["ENGINE"] or "postgresql" not in replica["ENGINE"]:
        raise ImproperlyConfigured("DATABASE_REPLICA_URLS needs PostgreSQL, for the primary and each replica.")
    # A replica that does not answer holds a heavy read up for 2 s, not a TCP timeout.
    replica.setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
    DATABASES[f"replica_{number}"] = replica
    CMP_READ_REPLICAS.append(f"replica_{number}")
CMP_REPLICA_MAX_LAG_SECONDS = float(os.environ.get("CMP_REPLICA_MAX_LAG_SECONDS", "5"))

# Data residency (docs/operations.md, "Data residency"): one database per region, as
# "eu=postgres://...,us=postgres://..." (aliases region_eu, region_us). A site pinned to a region
# keeps its visitors' data there alone (consent.residency); sites, users and the audit trail stay in
# the default database. Migrate each one: `manage.py migrate --database region_eu`.
CMP_DATA_REGIONS: dict[str, str] = {}
for entry in env_list("DATABASE_URLS_BY_REGION"):
    region, _, url = entry.partition("=")
    region = region.strip().lower()
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,15}", region) or not url.strip():
        raise ImproperlyConfigured(
            f"DATABASE_URLS_BY_REGION: {entry!r} is not region=url (a region is a short lowercase name, e.g. eu)."
        )
    DATABASES[f"region_{region}"] = dj_database_url.parse(
        url.strip(), conn_max_age=DATABASES["default"]["CONN_MAX_AGE"], conn_health_checks=True
    )
    CMP_DATA_REGIONS[region] = f"region_{region}"
DATABASE_ROUTERS = ["consent.residency.ResidencyRouter"]
# While regions are configured, a query on visitors' data that names neither its site nor its
# database is refused rather than run on the default database. Only the tests turn this off.
CMP_RESIDENCY_STRICT = env_bool("CMP_RESIDENCY_STRICT", True)

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "cmp",
            "OPTIONS": {
                # Redis is an accelerator, never a dependency: when it is down, the database
                # answers. consent.cache keeps what it caches coherent through an outage and logs
                # the outage once; the throttle's counts are the only other use.
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": 0.2,
                "SOCKET_TIMEOUT": 0.2,
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = False
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Messages wait in the session, on the server: the admin shows a new API key or webhook secret once
# that way, and Django's default would carry it in a signed, readable cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY") else None
# Production is served over TLS: HTTPS=1 (the older SECURE_COOKIES=1 means the same) turns on
# secure cookies, the redirect to https (not for /healthz, which load balancers probe over http)
# and HSTS for a year. `manage.py check --deploy` is then clean.
HTTPS = env_bool("HTTPS", env_bool("SECURE_COOKIES"))
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE_SSL_REDIRECT = HTTPS
# Names of our own: where the CMP shares a host with a site (another port), Django's defaults would
# collide with the site's, and our session middleware would delete the site's empty-looking
# `sessionid` on the widget's request.
SESSION_COOKIE_NAME = "cmp_session"
CSRF_COOKIE_NAME = "cmp_csrftoken"
# /metrics too: Prometheus scrapes each instance on its private address, over http.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SECURE_HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", "31536000")) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_PRELOAD = HTTPS

# CORS is decided per site at request time (consent.api.cors); nothing is allowed statically.
CORS_ALLOWED_ORIGINS: list[str] = []
CORS_URLS_REGEX = r"^/api/v1/sites/"
CORS_ALLOW_HEADERS = ["content-type", "authorization"]
CORS_PREFLIGHT_MAX_AGE = 600

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["consent.api.parsers.LimitedJSONParser"],
    "EXCEPTION_HANDLER": "consent.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    # The API speaks JSON only: no ?format= override (an unknown one made DRF raise a bare 404).
    "URL_FORMAT_OVERRIDE": None,
    # 0: the address the connection came from; X-Forwarded-For is read only behind that many
    # trusted proxies (DRF's None would trust whatever a client puts in the header).
    "NUM_PROXIES": int(os.environ.get("CMP_TRUSTED_PROXY_COUNT", "0")),
    "DEFAULT_THROTTLE_RATES": {
        "public": os.environ.get("CMP_PUBLIC_RATE", "120/min"),
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Consent platform API",
    "DESCRIPTION": "Record cookie consent decisions and ask, before setting a tracker, 'may I?'.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs page's scripts come from our own static files, never a CDN.
    "REDOC_DIST": "SIDECAR",
}

# Largest JSON body the API reads; larger ones get 413 before anything is parsed.
CMP_MAX_BODY_BYTES = int(os.environ.get("CMP_MAX_BODY_BYTES", str(16 * 1024)))
# How many reverse proxies in front of us append to X-Forwarded-For (0: use REMOTE_ADDR).
CMP_TRUSTED_PROXY_COUNT = int(os.environ.get("CMP_TRUSTED_PROXY_COUNT", "0"))
# Header a CDN sets with the visitor's country (e.g. HTTP_CF_IPCOUNTRY); empty: none.
CMP_COUNTRY_HEADER = os.environ.get("CMP_COUNTRY_HEADER", "")
# Header it sets with the visitor's subdivision, CA or US-CA (e.g. HTTP_CF_REGION_CODE); with the
# country it picks the regime of a US state (consent.services.regimes). Empty: none.
CMP_REGION_HEADER = os.environ.get("CMP_REGION_HEADER", "")
# Whether the CDN in front keys its cache on those headers (docs/operations.md, "Regions behind a
# CDN"). Off: a widget script whose regime depends on the region is marked private, so that no
# shared cache hands one region's regime to another.
CMP_CDN_VARIES_BY_REGION = env_bool("CMP_CDN_VARIES_BY_REGION")
# How stale this process's view of the cache epoch may be (consent.cache): each process re-reads
# it that often, and a change whose invalidation missed Redis waits that long before it answers.
CMP_CACHE_EPOCH_SECONDS = float(os.environ.get("CMP_CACHE_EPOCH_SECONDS", "0.25"))
# Webhooks may go to loopback, private and link-local addresses (a receiver on the same network):
# off by default, so that an admin form cannot make this server call its own network.
CMP_WEBHOOKS_ALLOW_PRIVATE = env_bool("CMP_WEBHOOKS_ALLOW_PRIVATE")
# The cookie scanner may visit loopback, private and link-local addresses when the admin's "Scan now"
# or the weekly schedule starts it (manage.py scansite run by hand always may): off by default, so
# that a site's origins cannot make this server browse its own network (docs/scanner.md).
CMP_SCANNER_ALLOW_PRIVATE = env_bool("CMP_SCANNER_ALLOW_PRIVATE")
# Public base URL of this server, used in the widget to reach the API (default: from the request).
CMP_PUBLIC_URL = os.environ.get("CMP_PUBLIC_URL", "").rstrip("/")
# The date this deployment's sites began honouring Global Privacy Control, for /.well-known/gpc.json
# (optional in the GPC specification; left out when empty).
CMP_GPC_LAST_UPDATE = os.environ.get("CMP_GPC_LAST_UPDATE", "")
# The bearer token Prometheus sends to scrape /metrics (docs/operations.md, "Metrics"). Empty: the
# endpoint is off (404).
CMP_METRICS_TOKEN = os.environ.get("CMP_METRICS_TOKEN", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_consent_ids": {"()": "consent.logs.RedactConsentIds"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact_consent_ids"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
