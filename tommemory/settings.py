"""Settings for tommemory, read from the environment with safe defaults.

Every setting, with its default and meaning, is listed once: docs/settings.md
(tests/test_docs.py fails when a setting read here is missing there, or the reverse).
"""

import json
import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    """Read a yes/no environment variable."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    """Read a comma-separated environment variable."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG")

RUNTIME_DB_PATH = Path(
    os.environ.get("TOM_RUNTIME_DB") or BASE_DIR / "memory" / "tom_runtime.sqlite"
)
if not RUNTIME_DB_PATH.is_absolute():
    RUNTIME_DB_PATH = BASE_DIR / RUNTIME_DB_PATH
RUNTIME_DB_PATH.parent.mkdir(parents=True, exist_ok=True)


def _dev_secret_key() -> str:
    """Return a development key kept beside the database, so restarts keep people signed in."""
    key_file = RUNTIME_DB_PATH.parent / ".dev-secret-key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it to a long random value in production, "
            "or set DJANGO_DEBUG=1 for development (a dev key is then generated)."
        )
    SECRET_KEY = _dev_secret_key()

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    "django_tasks_db",
    "memory_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages gzip-compressed for a browser that accepts it (a third of the bytes on a slow
    # phone network); Django pads each with random bytes against BREACH. Below WhiteNoise,
    # whose static files are compressed once, ahead of time.
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "memory_app.middleware.HtmxLoginRequiredMiddleware",
    # Last, as django-axes asks: it answers locked-out sign-ins.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # Counts failed sign-ins and refuses further tries once locked out.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Lock a username, and separately an address, after 5 failed sign-ins, for 15 minutes.
AXES_FAILURE_LIMIT = int(os.environ.get("TOM_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
# The address a failed sign-in is counted against: the proxy's X-Forwarded-For entry
# behind a reverse proxy, the connection's address otherwise (a header a client sends
# directly is never trusted).
BEHIND_PROXY = env_bool("DJANGO_BEHIND_PROXY")
PROXY_COUNT = int(os.environ.get("DJANGO_PROXY_COUNT", "1"))
AXES_CLIENT_IP_CALLABLE = "memory_app.access.client_address"

# Email (Django's MAILERS): SMTP when a mail host is configured; in debug without one, the
# console. Password reset pages exist only with a mail host (a reset link must reach the
# person); decision digests (memory_app.notify.notifications) go out with a mail host, or in debug.
MAIL_HOST = os.environ.get("DJANGO_EMAIL_HOST", "")
if DEBUG and not MAIL_HOST:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
else:  # without a host nothing of ours sends (SENDS_EMAIL), but the mailer stays a real one
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": MAIL_HOST or "localhost",
                "port": int(os.environ.get("DJANGO_EMAIL_PORT", "587")),
                "username": os.environ.get("DJANGO_EMAIL_USER", ""),
                "password": os.environ.get("DJANGO_EMAIL_PASSWORD", ""),
                "use_tls": env_bool("DJANGO_EMAIL_USE_TLS", True),
            },
        }
    }
SENDS_EMAIL = bool(MAIL_HOST) or DEBUG
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "tommemory@localhost")
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# Rendered fragments of rows (transcripts, lists), keyed by the rows' own values
# (memory_app.page_parts.rows_key), so no writer's change is ever served stale. Per
# process and bounded: a few hundred fragments of at most ~100 KB each.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "OPTIONS": {"MAX_ENTRIES": 300},
    }
}

ROOT_URLCONF = "tommemory.urls"
WSGI_APPLICATION = "tommemory.wsgi.application"
ASGI_APPLICATION = "tommemory.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "memory_app.access.roles",
            ],
        },
    },
]

CONNECTION = json.loads((BASE_DIR / "contract" / "connection.json").read_text())

# Other processes write the same file: WAL lets readers run beside a writer, the busy
# timeout waits for the lock instead of failing, and IMMEDIATE takes the write lock when a
# transaction starts, so a read-then-write transaction never fails halfway with "database
# is locked". The pragmas are the contract's (contract/connection.json), which every
# RuntimeMemoryStore applies too. (copy_database opens other SQLite files the same way.)
SQLITE_OPTIONS = {
    "init_command": "; ".join(
        f"PRAGMA {name} = {value}" for name, value in CONNECTION["pragmas"].items()
    ),
    "transaction_mode": "IMMEDIATE",
    "timeout": float(os.environ.get("TOM_DB_TIMEOUT", CONNECTION["busy_timeout_ms"] / 1000)),
}
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": RUNTIME_DB_PATH,
        "OPTIONS": SQLITE_OPTIONS,
    }
}
if DATABASE_URL := os.environ.get("DATABASE_URL", "").strip():
    # Several app servers and runtimes on several hosts share one PostgreSQL. Connections
    # are kept for a minute and checked before reuse; writers serialize on row locks
    # (memory_app.store), not on the database-wide lock SQLite has.
    DATABASES["default"] = dj_database_url.parse(
        DATABASE_URL, conn_max_age=60, conn_health_checks=True
    )
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured(
            "DATABASE_URL must name a PostgreSQL database (postgres://...); "
            "for SQLite set TOM_RUNTIME_DB to the file instead."
        )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The decision log's checkpoints (memory_app.promotion.checkpoints): signed with a key that lives
# outside the database, kept in a directory that can live on another host.
TOM_AUDIT_KEY = Path(os.environ.get("TOM_AUDIT_KEY") or BASE_DIR / "memory" / "audit.key")
TOM_AUDIT_PUBLIC_KEY = Path(
    os.environ.get("TOM_AUDIT_PUBLIC_KEY") or TOM_AUDIT_KEY.with_name(TOM_AUDIT_KEY.name + ".pub")
)
TOM_AUDIT_CHECKPOINTS = Path(
    os.environ.get("TOM_AUDIT_CHECKPOINTS") or BASE_DIR / "memory" / "checkpoints"
)
TOM_AUDIT_ORIGIN = os.environ.get("TOM_AUDIT_ORIGIN", "tommemory/decisions")
# The log served read-only at the C2SP tlog-tiles paths under this prefix (memory_app.promotion.
# log_pages), to auditors signed in or to requests bearing this token (none while empty).
TOM_LOG_PREFIX = os.environ.get("TOM_LOG_PREFIX", "log/").strip("/") + "/"
TOM_LOG_TOKEN = os.environ.get("TOM_LOG_TOKEN", "")
# Break-glass (memory_app.store.record_override): off unless an administrator turns it on.
TOM_BREAK_GLASS = env_bool("TOM_BREAK_GLASS")

# Notifications (memory_app.notify.notifications): webhooks and email digests, sent by a background
# worker (python manage.py db_worker) from tasks kept in this database.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# Links in webhook payloads and emails point here; when empty, at the address a person last
# signed in at (memory_app.notify.site_address).
TOM_BASE_URL = os.environ.get("TOM_BASE_URL", "").strip().rstrip("/")
TOM_WEBHOOK_TIMEOUT = float(os.environ.get("TOM_WEBHOOK_TIMEOUT", "5"))  # seconds per attempt
TOM_WEBHOOK_ATTEMPTS = int(os.environ.get("TOM_WEBHOOK_ATTEMPTS", "6"))
TOM_WEBHOOK_BACKOFF = float(os.environ.get("TOM_WEBHOOK_BACKOFF", "30"))  # first retry, doubling
TOM_DIGEST_INTERVAL = timedelta(minutes=float(os.environ.get("TOM_DIGEST_MINUTES", "60")))

# The OTLP receiver (memory_app.ingest.receiver, POST /v1/traces): the largest request body
# it takes, as sent and again as it inflates (a gzip bomb stops there: 413), and how many
# batches one process takes in at once (one more is answered 429 with Retry-After rather
# than queueing on the database's write lock with its body in memory).
TOM_INGEST_MAX_BYTES = int(os.environ.get("TOM_INGEST_MAX_BYTES", str(16 * 1024 * 1024)))
TOM_INGEST_CONCURRENCY = int(os.environ.get("TOM_INGEST_CONCURRENCY", "4"))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The governance rule (memory_app.promotion.rule): the approval types each risk level needs,
# and the levels whose required types must each come from a different person.
# The governance rule: the contract's defaults (contract/governance.json, which every
# RuntimeMemoryStore reads too), or a JSON file of the same form named by TOM_GOVERNANCE.
TOM_GOVERNANCE = json.loads(
    Path(os.environ.get("TOM_GOVERNANCE") or BASE_DIR / "contract" / "governance.json").read_text()
)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "memory_app:overview"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Production: WhiteNoise serves the static files compressed (gzip, brotli) under names that
# carry a hash of their content, cached for a year as immutable, from the folder
# `manage.py collectstatic` fills (tommemory/wsgi.py refuses to start without it). Debug
# (make run), and the test suite (TOM_HASHED_STATIC=0, tests/env.py: its servers must
# serve the files as they are being edited), serve the source folders as they are.
if env_bool("TOM_HASHED_STATIC", not DEBUG):
    STATIC_ROOT = Path(os.environ.get("TOM_STATIC_ROOT") or BASE_DIR / "staticfiles")
    if not STATIC_ROOT.is_absolute():
        STATIC_ROOT = BASE_DIR / STATIC_ROOT
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
else:
    WHITENOISE_USE_FINDERS = True

# Built-in Content Security Policy: no inline script or style anywhere.
from django.utils.csp import CSP  # noqa: E402

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.NONE],
}
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    # Production: HTTPS only. DJANGO_SECURE_COOKIES=0 / DJANGO_SSL_REDIRECT=0 are for
    # plain-HTTP runs on loopback (the benchmarks), never for a deployment.
    SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    if BEHIND_PROXY:
        # Only behind a proxy that sets X-Forwarded-Proto itself.
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "WARNING")},
}
