"""Django settings. Everything that differs between a laptop and production comes from the
environment: ``DATABASE_URL`` (SQLite by default), ``ANSINH_DATA_DIR``, ``SECRET_KEY``,
``ALLOWED_HOSTS``, ``HUEY_BACKEND`` / ``REDIS_URL``, ``EMAIL_URL``-style mail settings."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("ANSINH_DATA_DIR", Path.cwd() / "var"))
TESTING = os.environ.get("ANSINH_TESTING") == "1"


def _secret_key() -> str:
    if key := os.environ.get("SECRET_KEY"):
        return key
    # Development: a random key kept in the data directory, never committed.
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = "test-only-not-secret" if TESTING else _secret_key()
DEBUG = os.environ.get("DEBUG", "0") == "1"
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks",
    "huey.contrib.djhuey",
    "ansinh.core",
    "ansinh.law",
    "ansinh.places",
    "ansinh.access",
    "ansinh.registry",
    "ansinh.onestop",
    "ansinh.contributions",
    "ansinh.gateway",
    "ansinh.exchange",
    "ansinh.benefits",
    "ansinh.unemployment",
    "ansinh.nationaldb",
    "ansinh.linkage",
    "ansinh.synth",
    "ansinh.portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "ansinh.core.middleware.IgnoreBrowserLanguageMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "ansinh.access.middleware.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "ansinh.urls"
# Machine-to-machine routes answered without Django's middleware (ansinh.core.fastpath):
# (method or "*", path prefix, handler dotted path[, body limit]).
FAST_PATHS: list[tuple] = [
    ("POST", "/api/v1/gateway/submissions", "ansinh.gateway.fastpath.submit"),
    ("*", "/r1/", "ansinh.exchange.fast.r1", 2_621_440),  # the view's cap: Django's 2.5 MiB
]
WSGI_APPLICATION = "ansinh.wsgi.application"

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
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------
# SQLite is the embedded default. WAL lets readers run beside one writer; IMMEDIATE transactions
# take the write lock at BEGIN so two writers queue on the busy timeout instead of failing with
# "database is locked" half-way through a transaction.
SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 30,
    "init_command": (
        "PRAGMA journal_mode=WAL;"
        "PRAGMA synchronous=NORMAL;"
        "PRAGMA busy_timeout=30000;"
        "PRAGMA foreign_keys=ON;"
        "PRAGMA cache_size=-65536;"
        "PRAGMA mmap_size=268435456;"
        "PRAGMA temp_store=MEMORY;"
    ),
}

_default_db = f"sqlite:///{DATA_DIR / 'ansinh.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL", _default_db))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = dict(SQLITE_OPTIONS)
    # Keep connections open between requests, as on PostgreSQL: opening one runs the PRAGMAs
    # above, and closing the last one checkpoints the WAL (≈ 6 ms per request, measured).
    DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("CONN_MAX_AGE", "60"))
    if str(DATABASES["default"]["NAME"]) != ":memory:":
        Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
else:
    DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("CONN_MAX_AGE", "60"))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# The hot write paths prepare their statements once per database session (core.sqlscript);
# set SQL_PREPARED_STATEMENTS=0 behind a pooler that shares sessions (PgBouncer, transaction mode).
SQL_PREPARED_STATEMENTS = os.environ.get("SQL_PREPARED_STATEMENTS", "1") != "0"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "access.User"
# Role permissions narrowed by the user's organisation kind (insurance agency vs labour side).
AUTHENTICATION_BACKENDS = ["ansinh.access.backends.OrganisationKindBackend"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "access:login"
LOGIN_REDIRECT_URL = "portal:home"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 8 * 3600
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie-less meta tag instead

# Lock an account for LOCKOUT_MINUTES after LOCKOUT_THRESHOLD failed logins in a row.
LOCKOUT_THRESHOLD = int(os.environ.get("ANSINH_LOCKOUT_THRESHOLD", "5"))
LOCKOUT_MINUTES = int(os.environ.get("ANSINH_LOCKOUT_MINUTES", "15"))
# Staff must pass TOTP two-factor login; switch off only for throw-away demos.
REQUIRE_2FA = os.environ.get("ANSINH_REQUIRE_2FA", "1") == "1"

# --- Internationalisation ----------------------------------------------------------------------
LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", "Tiếng Việt"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "staticfiles"

# --- Background work ---------------------------------------------------------------------------
# Tasks use the django-tasks API (Django 6's django.tasks, backported); huey executes them.
# Default storage: a SQLite file next to the database. Production: Redis (HUEY_BACKEND=redis).
_huey_backend = os.environ.get("HUEY_BACKEND", "sqlite")
if _huey_backend == "redis":
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": "ansinh",
        "url": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "immediate": TESTING,
        "consumer": {"workers": int(os.environ.get("HUEY_WORKERS", "2"))},
    }
else:
    HUEY = {
        # huey.SqliteHuey at synchronous=NORMAL, like the database (ansinh.core.queue)
        "huey_class": "ansinh.core.queue.NormalSyncSqliteHuey",
        "name": "ansinh",
        "filename": str(DATA_DIR / "huey.sqlite3"),
        "immediate": TESTING,
        "consumer": {"workers": int(os.environ.get("HUEY_WORKERS", "2")), "worker_type": "thread"},
    }
TASKS = {"default": {"BACKEND": "huey.contrib.djhuey.tasks_backend.HueyBackend"}}

# --- Cache -------------------------------------------------------------------------------------
# Shared by every worker process (rate limits of the public look-up): files under the data
# directory on one machine; Redis when HUEY_BACKEND=redis says there is one; memory in tests.
if TESTING:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
elif _huey_backend == "redis":
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }

# --- Mail --------------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.locmem.EmailBackend"
    if TESTING
    else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "ansinh@localhost")

# --- Logging: no personal data in application logs ---------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "ansinh.core.logging.RedactPersonalData"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # django_tasks logs every task state at INFO: the demo console would be nothing else.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "django_tasks": {"level": "WARNING"}},
}

# Public base URL, used in QR codes and notices.
PUBLIC_BASE_URL = os.environ.get("ANSINH_PUBLIC_BASE_URL", "http://127.0.0.1:8000")

# Serve static files straight from the apps while developing and testing (no collectstatic).
WHITENOISE_USE_FINDERS = DEBUG or TESTING
WHITENOISE_AUTOREFRESH = DEBUG or TESTING

# --- One-stop: warnings, escalation and notices (onestop.warnings, onestop.notify) -------------
# "Due soon" = due within this many working days after today.
ONESTOP_DUE_SOON_DAYS = int(os.environ.get("ONESTOP_DUE_SOON_DAYS", "1"))
# Overdue for this many working days → head of department; this many → office director.
ONESTOP_ESCALATE_AFTER_DAYS = int(os.environ.get("ONESTOP_ESCALATE_AFTER_DAYS", "1"))
ONESTOP_ESCALATE_DIRECTOR_AFTER_DAYS = int(
    os.environ.get("ONESTOP_ESCALATE_DIRECTOR_AFTER_DAYS", "3")
)
# Reminders (due soon, due today) are created only in this window of a working day.
ONESTOP_REMINDER_HOURS = os.environ.get("ONESTOP_REMINDER_HOURS", "07:00-17:00")
# SMS gateway for applicant notices: LogBackend logs a masked number only; HttpBackend posts
# {"to", "text"} to ONESTOP_SMS_URL with the bearer ONESTOP_SMS_TOKEN.
ONESTOP_SMS_BACKEND = os.environ.get(
    "ONESTOP_SMS_BACKEND",
    "ansinh.onestop.sms.LocmemBackend" if TESTING else "ansinh.onestop.sms.LogBackend",
)
ONESTOP_SMS_URL = os.environ.get("ONESTOP_SMS_URL", "")
ONESTOP_SMS_TOKEN = os.environ.get("ONESTOP_SMS_TOKEN", "")
ONESTOP_SMS_TIMEOUT = float(os.environ.get("ONESTOP_SMS_TIMEOUT", "10"))

# --- E-transaction gateway: parsing, signatures and trust (gateway.xmlsafe/signing/trust) ------
# See docs/gateway-security.md. Limits on received XML: bytes and element nesting depth.
GATEWAY_MAX_BYTES = int(os.environ.get("GATEWAY_MAX_BYTES", str(20 * 1024 * 1024)))
GATEWAY_MAX_DEPTH = int(os.environ.get("GATEWAY_MAX_DEPTH", "64"))
# Revocation: refuse when the issuing CA's latest CRL is past its next update; optionally also
# when no CRL was ever loaded for it. Checkers are tried in turn (an OCSP checker goes here).
GATEWAY_REQUIRE_FRESH_CRL = os.environ.get("GATEWAY_REQUIRE_FRESH_CRL", "1") == "1"
GATEWAY_REQUIRE_CRL = os.environ.get("GATEWAY_REQUIRE_CRL", "0") == "1"
GATEWAY_REVOCATION_CHECKERS = [
    p.strip()
    for p in os.environ.get("GATEWAY_REVOCATION_CHECKERS", "ansinh.gateway.trust.check_crl").split(
        ","
    )
    if p.strip()
]
# The agency's signing key and certificate (PEM; the certificate file may continue with its
# chain). Unset: a demo key pair is created once under DATA_DIR/gateway/.
GATEWAY_AGENCY_KEY_FILE = os.environ.get("GATEWAY_AGENCY_KEY_FILE", "")
GATEWAY_AGENCY_CERT_FILE = os.environ.get("GATEWAY_AGENCY_CERT_FILE", "")
GATEWAY_AGENCY_KEY_PASSWORD = os.environ.get("GATEWAY_AGENCY_KEY_PASSWORD", "")
# Each process caches the parsed trust store; it looks for changes made by other processes at
# most this often (seconds), and rebuilds it at least this often.
GATEWAY_TRUST_CHECK_SECONDS = float(os.environ.get("GATEWAY_TRUST_CHECK_SECONDS", "1"))
GATEWAY_TRUST_MAX_AGE = float(os.environ.get("GATEWAY_TRUST_MAX_AGE", "300"))
# Reference look-ups on hot paths (the gateway's intake: I-VAN, employer, 01/ĐK-GD registration,
# signer certificate, receiving office, procedure) are remembered per process (ansinh.core.memo)
# at most LOOKUP_CACHE_SECONDS; a model save anywhere clears them in every process within
# LOOKUP_CACHE_CHECK_SECONDS (a version token in the cache above). 0 = off (the test default).
LOOKUP_CACHE_SECONDS = float(os.environ.get("LOOKUP_CACHE_SECONDS", "0" if TESTING else "60"))
LOOKUP_CACHE_CHECK_SECONDS = float(os.environ.get("LOOKUP_CACHE_CHECK_SECONDS", "1"))
# Intake and answers (gateway.services, gateway.callbacks; docs/gateway.md). Dossiers go to
# the provincial office of the employer's province, else to this office (agency code).
GATEWAY_FALLBACK_OFFICE = os.environ.get("GATEWAY_FALLBACK_OFFICE", "")
# Callback deliveries: retry schedule (seconds before attempt 1, 2, …), per-attempt timeout,
# and whether private or loopback addresses may receive them (development and tests only).
GATEWAY_CALLBACK_BACKOFF = [0, 30, 120, 600, 1800, 3600, 4 * 3600, 12 * 3600]
GATEWAY_CALLBACK_TIMEOUT = float(os.environ.get("GATEWAY_CALLBACK_TIMEOUT", "10"))
GATEWAY_CALLBACK_ALLOW_PRIVATE = (
    DEBUG or TESTING or os.environ.get("GATEWAY_CALLBACK_ALLOW_PRIVATE") == "1"
)

# --- Inter-agency exchange (exchange; docs/exchange.md) ------------------------------------------
# Signing key (PEM, Ed25519 or ECDSA P-256) and certificate; default DATA_DIR/exchange/.
EXCHANGE_KEY_FILE = os.environ.get("EXCHANGE_KEY_FILE", "")
EXCHANGE_CERT_FILE = os.environ.get("EXCHANGE_CERT_FILE", "")
EXCHANGE_KEY_PASSWORD = os.environ.get("EXCHANGE_KEY_PASSWORD", "")
# Our public base URL as clients sign it (set behind a proxy or an X-Road security server).
EXCHANGE_PUBLIC_URL = os.environ.get("EXCHANGE_PUBLIC_URL", "")
# Freshness: a signature older than this (s) or dated further ahead than the skew is stale.
EXCHANGE_MAX_AGE_SECONDS = int(os.environ.get("EXCHANGE_MAX_AGE_SECONDS", "300"))
EXCHANGE_CLOCK_SKEW_SECONDS = int(os.environ.get("EXCHANGE_CLOCK_SKEW_SECONDS", "30"))
EXCHANGE_MAX_BODY_BYTES = int(os.environ.get("EXCHANGE_MAX_BODY_BYTES", str(2 * 1024 * 1024)))
# Answers kept for repeated message ids (days); message log retention (days, 0 = forever).
EXCHANGE_IDEMPOTENCY_DAYS = int(os.environ.get("EXCHANGE_IDEMPOTENCY_DAYS", "30"))
EXCHANGE_LOG_RETENTION_DAYS = int(os.environ.get("EXCHANGE_LOG_RETENTION_DAYS", "0"))
# Bodies of messages refused before the sender is authenticated are logged up to this size.
EXCHANGE_LOG_UNVERIFIED_BYTES = int(os.environ.get("EXCHANGE_LOG_UNVERIFIED_BYTES", "65536"))
# Outbox back-off: base·2^(n-1) seconds after attempt n, capped; 0 attempts = never give up.
EXCHANGE_OUTBOX_BACKOFF_BASE = float(os.environ.get("EXCHANGE_OUTBOX_BACKOFF_BASE", "5"))
EXCHANGE_OUTBOX_BACKOFF_MAX = float(os.environ.get("EXCHANGE_OUTBOX_BACKOFF_MAX", "3600"))
EXCHANGE_OUTBOX_MAX_ATTEMPTS = int(os.environ.get("EXCHANGE_OUTBOX_MAX_ATTEMPTS", "0"))
EXCHANGE_TIMEOUT = float(os.environ.get("EXCHANGE_TIMEOUT", "30"))
# Each worker caches identity, peers and grants this long (s): a revocation takes this long.
EXCHANGE_CACHE_SECONDS = float(os.environ.get("EXCHANGE_CACHE_SECONDS", "0" if TESTING else "5"))
# Mutual TLS as a client: CA bundle to check peers, our client certificate and key.
EXCHANGE_TLS_CA_FILE = os.environ.get("EXCHANGE_TLS_CA_FILE", "")
EXCHANGE_TLS_CERT_FILE = os.environ.get("EXCHANGE_TLS_CERT_FILE", "")
EXCHANGE_TLS_KEY_FILE = os.environ.get("EXCHANGE_TLS_KEY_FILE", "")

# --- National database: e-cards and the population registry (nationaldb; docs/nationaldb.md) ---
# Issuer keys live in NATIONALDB_KEY_DIR (default DATA_DIR/nationaldb); a card is valid this long.
NATIONALDB_KEY_DIR = os.environ.get("NATIONALDB_KEY_DIR", "")
NATIONALDB_ISSUER = os.environ.get("NATIONALDB_ISSUER", "VN-ANSINH")
NATIONALDB_ECARD_VALID_DAYS = int(os.environ.get("NATIONALDB_ECARD_VALID_DAYS", "365"))
NATIONALDB_CHECK_RATE_PER_MINUTE = int(os.environ.get("NATIONALDB_CHECK_RATE_PER_MINUTE", "30"))
# Dotted paths of callables (person_ids, on) -> {person_id: [programme code, ...]}.
NATIONALDB_PROGRAMME_PROVIDERS: list[str] = [
    "ansinh.nationaldb.programmes.selectors.programme_codes"
]
# Population registry (popreg protocol): URL, our client id and key, the registry's public key.
NATIONALDB_POPREG_URL = os.environ.get("NATIONALDB_POPREG_URL", "")
NATIONALDB_POPREG_CLIENT_ID = os.environ.get("NATIONALDB_POPREG_CLIENT_ID", "ansinh")
NATIONALDB_POPREG_CLIENT_KEY = os.environ.get("NATIONALDB_POPREG_CLIENT_KEY", "")
NATIONALDB_POPREG_SERVER_KEY = os.environ.get("NATIONALDB_POPREG_SERVER_KEY", "")
NATIONALDB_POPREG_TIMEOUT = float(os.environ.get("NATIONALDB_POPREG_TIMEOUT", "5"))
# Through the exchange layer instead: the registry's member id, registered as an exchange peer.
NATIONALDB_POPREG_MEMBER = os.environ.get("NATIONALDB_POPREG_MEMBER", "")

# --- Unemployment benefit, centre side (unemployment; docs/unemployment.md) ---------------------
# The insurance agency's member id (exchange peer) that holds BHTN histories and pays benefits.
UNEMPLOYMENT_INSURANCE_PEER = os.environ.get("UNEMPLOYMENT_INSURANCE_PEER", "VN/GOV/BHXH/benefits")
# A monthly job-search report is due this many working days after the month's start day
# (assumption: the brief lists the report deadline as not confirmed).
UNEMPLOYMENT_REPORT_WINDOW_DAYS = int(os.environ.get("UNEMPLOYMENT_REPORT_WINDOW_DAYS", "3"))
