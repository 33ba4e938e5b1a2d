"""Settings read from the environment.

`DATABASE_URL` selects the database (PostgreSQL in production); without it the
project runs on a local SQLite file so a newcomer needs nothing else.
"""

import ipaddress
import os
import re
import secrets
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from salesproject.db_timeouts import statement_timeout_ms, with_statement_timeout

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)
# "production" makes every secret mandatory; anything else is a developer machine.
DJANGO_ENV = os.environ.get("DJANGO_ENV", "development")


def _secret_key() -> str:
    key = os.environ.get("DJANGO_SECRET_KEY")
    if key:
        return key
    if DJANGO_ENV == "production":
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_ENV=production.")
    # A developer machine gets a random key kept in a git-ignored file, so that
    # every worker and every restart agree on it and no key is ever published.
    path = BASE_DIR / ".secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "*" if DJANGO_ENV != "production" else "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_fsm",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_standardized_errors",
    "rest_framework.authtoken",
    "axes",
    "ops",  # before django_tasks_db: its `db_worker` (every queue by default) replaces the library's
    "django_tasks",
    "django_tasks_db",
    "salesproject",
    "events",
    "inventory",
    "customers",
    "sales",
    "payments",
    "reports",
    "webhooks",
    "notifications",
    "compat",
]

# Background work: Django's Tasks API (django-tasks, the backport of django.tasks for 5.2) on the database
# (django-tasks-db). A task is a row written in the caller's transaction, so it exists exactly when the change
# that asked for it committed; `manage.py db_worker` processes work them (any number, on any machine).
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "webhooks", "emails"],
    }
}

# Webhooks (events.md): attempts are retried after these delays (seconds), then the delivery is `failed`; a
# subscription failing for WEBHOOK_DISABLE_AFTER is deactivated. In production URLs must be https and may not
# resolve to loopback, private, link-local or reserved addresses unless WEBHOOK_ALLOW_PRIVATE_TARGETS.
WEBHOOK_RETRY_SCHEDULE = [float(s) for s in env_list("WEBHOOK_RETRY_SCHEDULE", "5,60,600,3600,21600,86400")]
WEBHOOK_TIMEOUT = float(os.environ.get("WEBHOOK_TIMEOUT", "10"))  # seconds for the whole POST
WEBHOOK_DISABLE_AFTER = timedelta(days=3)
WEBHOOK_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", False)

MIDDLEWARE = [
    # First and (nearly) last: django-prometheus times and counts every request (/metrics).
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Every answer, refusals included, carries an X-Request-ID (the client's, or a new one).
    "salesproject.middleware.RequestIdMiddleware",
    # One structured log line per request, with that id (ops.logs).
    "ops.logs.RequestLogMiddleware",
    # Before anything reads a body: refuses it by Content-Length (413), and NUL in the query or headers (400).
    "salesproject.middleware.BodySizeMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its 429 answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "salesproject.urls"
WSGI_APPLICATION = "salesproject.wsgi.application"

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

# Connections. Each gunicorn (sync) worker serves one request at a time, so by default it
# keeps one persistent connection per database (DATABASE_CONN_MAX_AGE seconds, checked
# before reuse so a database restart does not hand a dead connection to a request).
# DATABASE_POOL_MAX_SIZE > 0 switches PostgreSQL to psycopg's pool instead (one pool per
# worker process: worth it with threaded workers, `--threads`). Either way keep
# instances × workers × (1, or the pool's max size) below PostgreSQL's max_connections
# (100 by default, a few kept for maintenance); with a replica, count it there too.
DATABASE_CONN_MAX_AGE = int(os.environ.get("DATABASE_CONN_MAX_AGE", "60"))
DATABASE_POOL_MAX_SIZE = int(os.environ.get("DATABASE_POOL_MAX_SIZE", "0"))
# PostgreSQL cancels a statement of the web app after this many milliseconds (the API answers
# 503 query_timeout); 0 turns it off. Management commands are exempt: see salesproject/db_timeouts.py.
DATABASE_STATEMENT_TIMEOUT = statement_timeout_ms(production=DJANGO_ENV == "production", argv=sys.argv)


def _database(url: str) -> dict:
    config = dj_database_url.parse(
        url, conn_max_age=0 if DATABASE_POOL_MAX_SIZE else DATABASE_CONN_MAX_AGE, conn_health_checks=True
    )
    if DATABASE_POOL_MAX_SIZE and config["ENGINE"] == "django.db.backends.postgresql":
        config.setdefault("OPTIONS", {})["pool"] = {
            "min_size": int(os.environ.get("DATABASE_POOL_MIN_SIZE", "1")),
            "max_size": DATABASE_POOL_MAX_SIZE,
            "timeout": float(os.environ.get("DATABASE_POOL_TIMEOUT", "10")),
        }
    return with_statement_timeout(config, DATABASE_STATEMENT_TIMEOUT)


DATABASES = {"default": _database(os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# A read replica for the heavy reads (sales list, summary, exports): see salesproject/db_router.py.
# Writes, locking reads and anything inside a transaction stay on the primary.
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = _database(os.environ["DATABASE_REPLICA_URL"])
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}  # tests read the primary's test database
DATABASE_ROUTERS = ["salesproject.db_router.PrimaryReplicaRouter"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite serialises writers; wait for the lock instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    # The sales summary's covering indexes (INCLUDE columns) are a PostgreSQL optimisation;
    # SQLite builds them as plain indexes, which is all a development database needs.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database that does not answer makes the request fail (503) after this many seconds
    # instead of holding the worker until gunicorn kills it. A `?connect_timeout=` in the URL wins.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", int(os.environ.get("DATABASE_CONNECT_TIMEOUT", "5"))
    )
    # Parameters bound by the server, so psycopg prepares a statement the second time a connection runs it and
    # PostgreSQL plans it once (a sale's detail joins nine tables: planning them cost more than running the query).
    # Behind a PgBouncer in transaction mode older than 1.21, set DATABASE_SERVER_SIDE_BINDING=0.
    if env_bool("DATABASE_SERVER_SIDE_BINDING", True):
        for _config in DATABASES.values():
            _config.setdefault("OPTIONS", {})["server_side_binding"] = True
            _config["OPTIONS"]["prepare_threshold"] = int(os.environ.get("DATABASE_PREPARE_THRESHOLD", "2"))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Security -------------------------------------------------------------------------
# HTTPS settings follow DJANGO_ENV: on in production (so `manage.py check --deploy` is
# clean), off elsewhere so `make run`, the tests and the plain-HTTP contract test work.
# Each can be overridden by its environment variable.
PRODUCTION = DJANGO_ENV == "production"
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_SECURE_HSTS_SECONDS", 31_536_000 if PRODUCTION else 0))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", PRODUCTION)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SESSION_COOKIE_SECURE", PRODUCTION)
CSRF_COOKIE_SECURE = env_bool("DJANGO_CSRF_COOKIE_SECURE", PRODUCTION)
# Production runs behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips a
# client's own); without a proxy, set DJANGO_SECURE_PROXY_SSL_HEADER=0.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER", PRODUCTION) else None
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

# One cache for every worker process: DRF's throttle counters (the token endpoint's login
# limit) live here, and a per-process cache would multiply the limit by the number of
# gunicorn workers. The database needs no extra service; migration
# salesproject.0002_cache_table creates the table.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "salesproject_cache",
        "OPTIONS": {"MAX_ENTRIES": 10_000},
    }
}

# Admin (and every password) login: django-axes locks a username from one client address
# after AXES_FAILURE_LIMIT failures for AXES_COOLOFF_MINUTES. Username and address together,
# so a stranger cannot lock a real user out from elsewhere and one shared office address is
# not locked for everybody. The token endpoint is also rate-limited per address by DRF.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False  # no start-up banner on every manage.py command; lockouts are still logged

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("DJANGO_MEDIA_ROOT", BASE_DIR / "media"))
# Static files are served by whitenoise inside the WSGI app, so `gunicorn salesproject.wsgi` alone
# serves a working admin. Production runs `manage.py collectstatic --noinput` before starting it:
# hashed, compressed copies, cached by browsers for a year. Without collectstatic (a developer, CI)
# whitenoise serves the apps' own files through the finders. See salesproject/static_storage.py.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "salesproject.static_storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# The largest request body any route accepts, by Content-Length, before reading it (413 `request_too_large`,
# salesproject/middleware.py). The invoice upload allows 10 MB plus base64/multipart overhead on top of it.
API_MAX_BODY_BYTES = int(os.environ.get("API_MAX_BODY_BYTES", "1048576"))
# The largest invoice file (sales.services.invoices), and the POST routes (by URL name) that take more than
# API_MAX_BODY_BYTES with their limit in bytes: the invoice upload, base64 and multipart overhead included.
INVOICE_MAX_BYTES = 10 * 1024 * 1024
API_LARGE_BODY_ROUTES = {
    "api:sale-invoice": INVOICE_MAX_BYTES * 4 // 3 + 64 * 1024,
    "omnilabs-sale-invoice": INVOICE_MAX_BYTES * 4 // 3 + 64 * 1024,  # seed 002's base64 invoice upload
    "omnilabs-sale-invoice-slash": INVOICE_MAX_BYTES * 4 // 3 + 64 * 1024,  # the same, with a trailing slash
}
# Django's own check comes behind that one: at least as large as the largest route's limit (an invoice of
# 10 MB is about 13.4 MB in base64), so the middleware always refuses first.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(API_MAX_BODY_BYTES, 15 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440


def throttle_rate(name: str, default: str) -> str:
    """`<requests>/<s|sec|second|m|min|minute|h|hour|d|day>` from the environment, checked at start-up."""
    rate = os.environ.get(name, default).strip()
    if not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", rate):
        raise ImproperlyConfigured(f"{name} must look like 1200/min (requests per s, min, hour or day), not {rate!r}.")
    return rate


REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "salesproject.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "salesproject.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # JSON bodies only (the invoice upload also takes multipart), parsed depth-limited: salesproject/api/parsers.py.
    "DEFAULT_PARSER_CLASSES": ["salesproject.api.parsers.JSONParser"],
    # DRF's JSON, written by orjson (salesproject/api/renderers.py); the browsable API as before.
    "DEFAULT_RENDERER_CLASSES": [
        "salesproject.api.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "salesproject.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    # Every API view: per user (token or session) and per anonymous address; the token endpoint has its own.
    "DEFAULT_THROTTLE_CLASSES": ["salesproject.api.throttles.UserThrottle", "salesproject.api.throttles.AnonThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "auth": os.environ.get("API_AUTH_THROTTLE_RATE", "30/minute"),
        "user": throttle_rate("API_RATE_LIMIT_USER", "1200/min"),
        "anon": throttle_rate("API_RATE_LIMIT_ANON", "60/min"),
    },
    # The client address of the anonymous limit: REMOTE_ADDR, or with N proxies in front (production's TLS proxy,
    # which must append to X-Forwarded-For) the N-th address from the right of X-Forwarded-For, which the client
    # cannot forge. Unset, DRF would trust the client's own X-Forwarded-For.
    "NUM_PROXIES": int(os.environ.get("API_NUM_PROXIES", "1" if PRODUCTION else "0")),
    "COERCE_DECIMAL_TO_STRING": True,
    "DATETIME_FORMAT": "iso-8601",
}
DRF_STANDARDIZED_ERRORS = {
    "EXCEPTION_HANDLER_CLASS": "salesproject.api.exceptions.ExceptionHandler",
    "EXCEPTION_FORMATTER_CLASS": "salesproject.api.exceptions.ExceptionFormatter",
    "ENABLE_IN_DEBUG_FOR_UNHANDLED_EXCEPTIONS": True,
    "ALLOWED_ERROR_STATUS_CODES": ["400", "401", "403", "404", "405", "406", "409", "413", "415", "429", "500", "503"],
    "ERROR_SCHEMAS": {
        "400": "salesproject.api.schema.BadRequestResponseSerializer",
        "409": "salesproject.api.schema.ConflictResponseSerializer",
        "413": "salesproject.api.exceptions.RequestTooLargeResponseSerializer",
        "503": "salesproject.api.schema.ServiceUnavailableResponseSerializer",
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Sales API",
    "DESCRIPTION": "Sales, stock, payments and customers. Errors share one body shape (see the error components).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ValidationErrorEnum": "drf_standardized_errors.openapi_serializers.ValidationErrorEnum.choices",
        "ClientErrorEnum": "drf_standardized_errors.openapi_serializers.ClientErrorEnum.choices",
        "ServerErrorEnum": "drf_standardized_errors.openapi_serializers.ServerErrorEnum.choices",
        "SaleStatusEnum": "sales.models.SaleStatus",
        "SalePaymentStatusEnum": "sales.models.PaymentStatus",
        "PaymentStateEnum": "payments.models.PaymentState",
        "CancelReasonEnum": "sales.models.CancelReason",
        "ChannelKindEnum": "sales.models.ChannelKind",
        "PaymentKindEnum": "payments.models.PaymentKind",
        "AddressKindEnum": "customers.models.AddressKind",
        "MovementKindEnum": "inventory.models.MovementKind",
        "TrackingStatusEnum": "sales.models.TrackingStatus",
        "DeliveryStatusEnum": "sales.models.DeliveryStatus",
        "DeliveryModeEnum": "sales.models.DeliveryMode",
        "PaymentModeEnum": "sales.models.PaymentMode",
        "CloneReasonEnum": "sales.models.CloneReason",
        "PaymentMethodEnum": "payments.models.PaymentMethod",
        # A discount's type and a promotion's kind: percent / fixed.
        "DiscountTypeEnum": "sales.models.DiscountType",
        # return_status and cancellation_status: none / partial / full.
        "PartialStatusEnum": "sales.models.ReturnStatus",
        "OrdersSaleStatusEnum": "compat.orders.mapping.STATUS_WORDS",  # seed 003's draft / pending / finalized
        "InvoiceStatusEnum": "sales.models.InvoiceStatus",
        "OrdersInventoryStatusEnum": "compat.orders.mapping.INVENTORY_STATUS_WORDS",  # seed 003's camelCase words
        "OrdersInvoiceStatusEnum": "compat.orders.mapping.INVOICE_STATUS_WORDS",
        "OrdersPaymentStatusEnum": "compat.orders.mapping.PAYMENT_STATUS_WORDS",
        "OrdersReturnStatusEnum": "compat.orders.mapping.RETURN_STATUS_WORDS",
        "CartSellStatusEnum": "compat.cart.schema.STATUS_CHOICES",  # seed 000's status words
        "OmnilabsStatusEnum": "compat.omnilabs.representation.WORDS",  # seed 002's status words
    },
    # Operation ids (and so the generated clients' function names) are taken from the path after this prefix, as
    # before the /compat/ routes joined the schema (`v1_stock_list`, not `api_v1_stock_list`).
    "SCHEMA_PATH_PREFIX": r"/api/",
    "POSTPROCESSING_HOOKS": [
        "drf_standardized_errors.openapi_hooks.postprocess_schema_enums",
        "drf_spectacular.hooks.postprocess_schema_enums",
        "salesproject.api.schema.postprocess_schema",
    ],
    "SERVERS": [{"url": "http://127.0.0.1:8000", "description": "Local development server (`make run`)"}],
    "LICENSE": {"name": "Proprietary"},
}
# Customer e-mails (notifications app): SMTP when EMAIL_HOST is set (always in production), else the console
# backend prints them. Sent by tasks on the `emails` queue, never inside a request.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "" if DJANGO_ENV != "production" else "localhost")
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "sales@localhost")

# `manage.py run_periodic`: pending sales older than this are cancelled (their stock released); finished
# task rows older than TASK_RESULTS_KEEP_DAYS are deleted.
SALES_STALE_PENDING_AFTER = os.environ.get("SALES_STALE_PENDING_AFTER", "48h")
TASK_RESULTS_KEEP_DAYS = int(os.environ.get("TASK_RESULTS_KEEP_DAYS", "14"))

# Idempotency keys are kept at least this long.
IDEMPOTENCY_KEY_TTL_HOURS = int(os.environ.get("IDEMPOTENCY_KEY_TTL_HOURS", "48"))

# Sales settings.
SALES_DEFAULT_CURRENCY = os.environ.get("SALES_DEFAULT_CURRENCY", "USD")
# The currency reports convert to, and the only one the catalogue prices are in (money.md).
SALES_BASE_CURRENCY = os.environ.get("SALES_BASE_CURRENCY", "USD")

# Logs (ops.logs): one JSON object per line on stderr (`DJANGO_LOG_FORMAT=console` for key=value lines), one line
# per request and per task. django.request's own 4xx/5xx lines repeat the request line: errors only (tracebacks).
LOG_FORMAT = os.environ.get("DJANGO_LOG_FORMAT", "json")
if LOG_FORMAT not in ("json", "console"):
    raise ImproperlyConfigured(f"DJANGO_LOG_FORMAT must be json or console, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "ops.logs.json_formatter"},
        "console": {"()": "ops.logs.console_formatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "django_tasks": {"level": "WARNING"},  # ops.logs writes the task line
    },
}

# Operations (ops/): /readyz fails when the oldest due background task has waited longer than this (seconds; 0:
# never). Half an hour by default: a deployment briefly without a worker (a demo, a test run) stays ready, a
# queue nobody works for longer is an outage of webhooks and e-mails. /metrics answers addresses in
# METRICS_ALLOWED_CIDRS, or anyone with `Authorization: Bearer <METRICS_TOKEN>`. The probes and /metrics answer
# over plain HTTP too (a probe does not follow the redirect).
READYZ_MAX_TASK_AGE = int(os.environ.get("READYZ_MAX_TASK_AGE", "1800"))
METRICS_ALLOWED_CIDRS = [
    str(ipaddress.ip_network(cidr, strict=False)) for cidr in env_list("METRICS_ALLOWED_CIDRS", "127.0.0.0/8,::1/128")
]
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
