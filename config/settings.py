"""Consistency Lab settings: one module, read from the environment.

Every knob is an environment variable (see the README's configuration table);
nothing here differs between a laptop and a deployment except those values.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use 1 or 0)")


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

DEV_SECRET_KEY = "insecure-development-key-never-use-in-production"
# `make run` writes var/secret_key once (mode 0600); SECRET_KEY in the environment wins.
SECRET_KEY_FILE = Path(env("SECRET_KEY_FILE", str(VAR_DIR / "secret_key")))
SECRET_KEY = env("SECRET_KEY") or (
    SECRET_KEY_FILE.read_text().strip() if SECRET_KEY_FILE.exists() else DEV_SECRET_KEY if DEBUG else ""
)
if not DEBUG and (len(SECRET_KEY) < 32 or SECRET_KEY == DEV_SECRET_KEY or SECRET_KEY.startswith("django-insecure")):
    raise ImproperlyConfigured(
        "DEBUG is off, so SECRET_KEY must be set to a random string of at least 32 characters, "
        "e.g. SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(50))')"
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
# The address people type or scan to reach this server (`make run` sets it, with the LAN address under HOST=0.0.0.0).
PUBLIC_URL = env("PUBLIC_URL", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "lessons",
    "playground",
    "interview",
    "axes",
    "classroom",
]

MIDDLEWARE = [
    "config.middleware.RequestIdMiddleware",
    "config.metrics.RequestLatencyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "config.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "config.middleware.DatabaseBusyMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into our 429 page.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses sign-ins while locked out
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                # Last: a page rendered once for every newcomer gets a slot where the CSRF token goes.
                "config.pagecache.csrf_slot",
            ],
            "libraries": {"pagecache": "config.pagecache_tags"},
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web process and the Celery worker write to the same file: wait for
    # the lock instead of failing, and let readers proceed during a write.
    # Connections persist like PostgreSQL's: opening one (its PRAGMAs, reading the schema) cost
    # more than a whole cached page.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": float(env("SQLITE_TIMEOUT_SECONDS", "20")),
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not :memory:, so that a worker process sees the test database;
    # one per test process, so that two test runs never share one.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}

LOGIN_URL = "lessons:login"
LOGIN_REDIRECT_URL = "lessons:progress"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Behind a TLS proxy: SECURE_COOKIES=1 sends cookies over HTTPS only and turns on HSTS and the redirect to HTTPS.
# Django's database sessions, read by hand (config/sessions.py).
SESSION_ENGINE = "config.sessions"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", "31536000" if SESSION_COOKIE_SECURE else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", SESSION_COOKIE_SECURE)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", SESSION_COOKIE_SECURE)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", SESSION_COOKIE_SECURE)
if env_bool("SECURE_PROXY_SSL_HEADER", SESSION_COOKIE_SECURE):
    # The proxy terminates TLS and says so; it must strip this header from clients.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# /healthz answers the proxy's plain-HTTP probes.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# No inline script or style anywhere: every script and stylesheet is a static file
# (data for scripts travels in json_script blocks, which are not executed).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"

# Redis carries the Celery queue and the frames of runs that are live.
REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/0")
# Keys and the queue are namespaced so that a shared Redis can hold several
# deployments (or a test run) without one touching the other's data.
REDIS_KEY_PREFIX = env("REDIS_KEY_PREFIX", "clab:")
# Optional: the messaging experiment's live queue can run on a RabbitMQ here (amqp://user:pass@host:5672//).
RABBITMQ_URL = env("RABBITMQ_URL", "")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": REDIS_KEY_PREFIX + "cache",
        # Short timeouts: a stopped Redis must not hold a request (see REDIS_SOCKET_TIMEOUT_SECONDS).
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}
# Django's own Redis cache has an atomic INCR; django-ratelimit just does not list it.
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"]

CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", "consistency-lab")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# Our own outbox re-dispatches runs whose publish failed, so fail fast here
# instead of blocking the request while the broker is down.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 5}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# How long a live run may go without a heartbeat before it counts as abandoned.
RUN_HEARTBEAT_TIMEOUT_SECONDS = int(env("RUN_HEARTBEAT_TIMEOUT_SECONDS", "30"))
# The reaper (a thread in every worker) fails abandoned runs, re-dispatches
# queued runs nobody claimed within RUN_REDISPATCH_AFTER_SECONDS (a restarted
# Redis forgets its queue) and beats the worker's own heartbeat this often.
RUN_REAPER_INTERVAL_SECONDS = float(env("RUN_REAPER_INTERVAL_SECONDS", "5"))
RUN_REDISPATCH_AFTER_SECONDS = int(env("RUN_REDISPATCH_AFTER_SECONDS", "30"))
WORKER_HEARTBEAT_TTL_SECONDS = 3 * RUN_REAPER_INTERVAL_SECONDS
# A request that found the database locked for longer than its timeout gets a
# 503 asking the browser to send it again this many seconds later.
DATABASE_BUSY_RETRY_AFTER_SECONDS = int(env("DATABASE_BUSY_RETRY_AFTER_SECONDS", "5"))
# Sign-in throttling (django-axes), for the sign-in form and /admin/login/ alike:
# AXES_FAILURE_LIMIT wrong passwords for one account, or from one address, lock
# it out for AXES_COOLOFF_MINUTES.
AXES_FAILURE_LIMIT = int(env("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(env("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # no row per successful sign-in
AXES_LOCKOUT_CALLABLE = "config.views.signin_locked_out"

# Run submissions (django-ratelimit, counting in the Redis cache): per session and
# per client address, and a cap on runs waiting in the queue for everyone.
RUNS_PER_MINUTE = int(env("RUNS_PER_MINUTE", "20"))
RUNS_PER_MINUTE_PER_ADDRESS = int(env("RUNS_PER_MINUTE_PER_ADDRESS", "60"))
RUN_QUEUE_CAP = int(env("RUN_QUEUE_CAP", "200"))
RATELIMIT_USE_CACHE = "default"
# Web requests give up on Redis this fast (a stopped Redis never answers).
REDIS_SOCKET_TIMEOUT_SECONDS = float(env("REDIS_SOCKET_TIMEOUT_SECONDS", "0.5"))
# Web runs are paced so that a person can watch the chart grow (150 frames
# at 25 ms is about four seconds); the CLI runs at full speed.
RUN_FRAME_DELAY_SECONDS = float(env("RUN_FRAME_DELAY_MS", "25")) / 1000

# Optional second opinion on interview answers: an OpenAI-compatible chat endpoint on the operator's own
# network (a local Ollama or llama.cpp server). Unset, the built-in rubric grader is all there is and
# nothing touches the network. GRADER_DEADLINE bounds the whole grading of one answer, in seconds.
GRADER_URL = env("GRADER_URL", "")
GRADER_MODEL = env("GRADER_MODEL", "default")
GRADER_API_KEY = env("GRADER_API_KEY", "")
GRADER_DEADLINE = float(env("GRADER_DEADLINE", "20"))

# /metrics answers this machine only, unless a scraper elsewhere sends `Authorization: Bearer <METRICS_TOKEN>`.
METRICS_TOKEN = env("METRICS_TOKEN", "")

LOG_LEVEL = env("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "config.logging.RequestIdFilter"}},
    "formatters": {"json": {"()": "config.logging.JsonFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # Django's own loggers print plain text in DEBUG; route them through JSON too.
    "loggers": {
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "django.db.backends": {"level": "INFO"},
        "axes": {"level": "WARNING"},  # not a banner on every manage.py command
    },
}
