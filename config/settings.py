"""ModelMarket settings: everything comes from the environment, with defaults that need no server.

The embedded default is SQLite and a filesystem Celery broker under `var/`. `DEBUG` is off unless the
environment turns it on (`make run` and the test settings do): production fails closed and refuses to
start without a real `SECRET_KEY`.
"""
import os
import tempfile
import urllib.parse
from decimal import Decimal

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from .crypto import derive_key as _derive_prediction_key
from .crypto import parse_keys as _parse_prediction_keys
from .database import postgres_options
from .env import BASE_DIR, env, require_in_production

VAR_DIR = env.path("MODELMARKET_VAR_DIR", default=str(BASE_DIR / "var"))
os.makedirs(VAR_DIR.root, exist_ok=True)

DEBUG = env.bool("DEBUG", default=False)
_DEV_SECRET = "django-insecure-development-only-key-do-not-use-in-production"  # noqa: S105
SECRET_KEY = require_in_production(
    "SECRET_KEY", env.str("SECRET_KEY", default=_DEV_SECRET if DEBUG else ""), debug=DEBUG,
    insecure_default=_DEV_SECRET,
)
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
# The site's own host and loopback; Django's test runner adds `testserver` for the tests by itself.
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=sorted({"127.0.0.1", "localhost",
                                                          urllib.parse.urlsplit(SITE_URL).hostname or "localhost"}))
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc served from our static files, no CDN
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.github",
    "allauth.socialaccount.providers.google",
    "django_celery_results",
    "django_celery_beat",
    "accounts",
    "marketplace",
    "billing",
    "inference",
    "training",
    "community",
    "analytics",
    "config",  # the composition root: commands that use every app (seed_demo, runplatform)
    "privacy",
]

MIDDLEWARE = [
    "config.observability.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "config.middleware.ApiErrorShapeMiddleware",
    "config.web_errors.DomainErrorMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
SITE_ID = 1

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.site_header",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR('db.sqlite3')}")}
if env.str("MODELMARKET_DB_NAME_OVERRIDE", default=""):
    # Set by the test suite for worker subprocesses, so they use the test database.
    DATABASES["default"]["NAME"] = env.str("MODELMARKET_DB_NAME_OVERRIDE")
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"].setdefault("OPTIONS", {}).update(postgres_options())
    if "pool" in DATABASES["default"]["OPTIONS"]:
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps the connections (Django requires 0 with it)
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the web process read while the worker writes; a busy timeout avoids spurious locks.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so a worker process can share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR("test_db.sqlite3"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://modelmarket")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["BACKEND"] = "config.cache.RedisCache"  # one client per pool, not one per call

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "marketplace:home"
LOGOUT_REDIRECT_URL = "marketplace:home"

# django-allauth: log in by email; verification is optional in development, mandatory when asked.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="optional")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_RATE_LIMITS = env.dict("ACCOUNT_RATE_LIMITS", default={})  # {} keeps allauth's defaults; None crashes it
SOCIALACCOUNT_PROVIDERS: dict = {}
for _provider in ("github", "google"):
    _client_id = env.str(f"{_provider.upper()}_CLIENT_ID", default="")
    _secret = env.str(f"{_provider.upper()}_CLIENT_SECRET", default="")
    if _client_id and _secret:
        SOCIALACCOUNT_PROVIDERS[_provider] = {"APP": {"client_id": _client_id, "secret": _secret, "key": ""}}

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=str(VAR_DIR("staticfiles")))
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR("media")))
# Model artifacts and datasets are the developer's property: they live in a storage with no public URL.
PRIVATE_MEDIA_ROOT = env.path("PRIVATE_MEDIA_ROOT", default=str(VAR_DIR("private")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "private": {
        "BACKEND": env.str("PRIVATE_STORAGE_BACKEND", default="config.storage.PrivateFileSystemStorage"),
        "OPTIONS": env.json("PRIVATE_STORAGE_OPTIONS", default={}),
    },
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="ModelMarket <noreply@modelmarket.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "config.api.Pagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "DEFAULT_PARSER_CLASSES": ["config.parsers.StrictJSONParser"],
    "DEFAULT_METADATA_CLASS": "config.metadata.Metadata",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["accounts.throttling.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_key": env.str("API_KEY_RATE", default="600/min")},
    # How many reverse proxies sit in front: anonymous throttling reads the client address that many hops
    # from the right of X-Forwarded-For. 0 (the default) ignores the header, which any client can forge.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ModelMarket API",
    "DESCRIPTION": "Find, buy and run AI model apps. Every run is quoted before it starts.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "config.openapi.postprocess"],
    "TAGS": [
        {"name": "accounts", "description": "You, your API keys, developer terms, exports."},
        {"name": "marketplace", "description": "Apps, categories, reviews, libraries, moderation."},
        {"name": "versions", "description": "Model versions: upload, validation, schemas."},
        {"name": "predictions", "description": "Quotes, runs, streaming, cancelling."},
        {"name": "webhooks", "description": "Webhook secret and delivery log (Standard Webhooks)."},
        {"name": "billing", "description": "Wallet, ledger, top-ups, grants."},
        {"name": "training", "description": "Datasets and fine-tuning jobs."},
        {"name": "community", "description": "The forum."},
        {"name": "orgs", "description": "Organisations: members, shared wallet."},
    ],
}
# The documentation site (MkDocs Material, built from docs/ by `make run` and CI) served at /docs/.
DOCS_SITE_DIR = env.path("DOCS_SITE_DIR", default=str(BASE_DIR / "var" / "docs-site"))

# Celery: the embedded default is a filesystem broker (see config/kombu_fs.py) and the Django DB for results.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_FOLDER = VAR_DIR("broker")
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": f"{CELERY_BROKER_FOLDER}/queue",
        "data_folder_out": f"{CELERY_BROKER_FOLDER}/queue",
        "control_folder": f"{CELERY_BROKER_FOLDER}/control",
        "polling_interval": env.float("CELERY_FS_POLL_SECONDS", default=0.05),
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="django-db")
CELERY_RESULT_EXTENDED = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE: dict = {
    # Jobs whose worker died stop looking `running` within a couple of minutes.
    "training-reap-stale-jobs": {"task": "training.reap_stale_jobs", "schedule": 60.0},
}

# --- Product settings ------------------------------------------------------------------------------------
# One typed entry each, named like its environment variable, read as `settings.X` when the code needs it (so tests
# override it with the `settings` fixture); this is its one default. No app keeps a `_conf()` or dict of its own.
# The platform's share of each paid call (the developer gets the rest), and the currency of every price.
PLATFORM_FEE: Decimal = Decimal(env.str("PLATFORM_FEE", default="0.20"))
CURRENCY: str = env.str("CURRENCY", default="usd")
# --- Accounts, marketplace and community (owned by those apps; read as settings.X at call time) -------------
# The most active API keys one user may hold.
MAX_API_KEYS_PER_USER: int = env.int("MAX_API_KEYS_PER_USER", default=50)
# "Top rated" lists only apps with at least this many ratings (one 5-star review is not a top app).
TOP_RATED_MIN_REVIEWS: int = env.int("TOP_RATED_MIN_REVIEWS", default=2)
# Trigram similarity (0..1) a search word needs to match a word of an app's name, tagline or tags.
SEARCH_TRIGRAM_THRESHOLD: float = env.float("SEARCH_TRIGRAM_THRESHOLD", default=0.5)
# The forum's rules, Discourse-style. Per trust level (0 new, 1 basic, 2 member): limits per post, per hour
# and per day.
COMMUNITY_MAX_LINKS: dict[int, int] = {0: 2, 1: 10, 2: 50}
COMMUNITY_MAX_MENTIONS: dict[int, int] = {0: 2, 1: 10, 2: 30}
COMMUNITY_MAX_IMAGES: dict[int, int] = {0: 0, 1: 10, 2: 50}
COMMUNITY_POSTS_PER_HOUR: dict[int, int] = {0: 10, 1: 30, 2: 120}
COMMUNITY_FLAGS_PER_DAY: dict[int, int] = {0: 5, 1: 20, 2: 50}
# Promotion to a trust level: every minimum must hold (never demoted automatically).
COMMUNITY_PROMOTE: dict[int, dict[str, int]] = {
    1: {"days_visited": 2, "posts_read": 20, "likes_received": 0},
    2: {"days_visited": 10, "posts_read": 100, "likes_received": 5},
}
# A flag weighs 1 + the flagger's trust level; a post is hidden at this score (a moderator's flag alone).
COMMUNITY_HIDE_THRESHOLD: int = env.int("COMMUNITY_HIDE_THRESHOLD", default=5)
COMMUNITY_POSTS_PER_PAGE: int = env.int("COMMUNITY_POSTS_PER_PAGE", default=20)
COMMUNITY_THREADS_PER_PAGE: int = env.int("COMMUNITY_THREADS_PER_PAGE", default=25)
COMMUNITY_SUSPEND_DAYS: int = env.int("COMMUNITY_SUSPEND_DAYS", default=7)
# --- end accounts, marketplace and community -----------------------------------------------------------
# --- Inference and training (owned by inference/ and training/) ----------------------------------------------
# Uploads: the largest artifact (413 past it); a zip may unpack to this many files, this many bytes, and at most
# this compression ratio (a zip bomb is refused).
MAX_ARTIFACT_BYTES: int = env.int("MAX_ARTIFACT_BYTES", default=512 * 1024 * 1024)
ARTIFACT_MAX_FILES: int = env.int("ARTIFACT_MAX_FILES", default=500)
ARTIFACT_MAX_UNPACKED_BYTES: int = env.int("ARTIFACT_MAX_UNPACKED_BYTES", default=8 * 1024**3)
ARTIFACT_MAX_COMPRESSION_RATIO: int = env.int("ARTIFACT_MAX_COMPRESSION_RATIO", default=200)
# Untrusted models: a ceiling on the network a config.json may describe (checked before anything is
# allocated), and the memory and wall clock the sandboxed first load + example may use.
MAX_MODEL_PARAMS: int = env.int("MAX_MODEL_PARAMS", default=1_000_000_000)
VALIDATION_MEMORY_BYTES: int = env.int("VALIDATION_MEMORY_BYTES", default=6 * 1024**3)
VALIDATION_TIMEOUT_SECONDS: int = env.int("VALIDATION_TIMEOUT_SECONDS", default=300)
# The largest input of a prediction: a text field, an image field.
MAX_TEXT_INPUT_BYTES: int = env.int("MAX_TEXT_INPUT_BYTES", default=256 * 1024)
MAX_IMAGE_INPUT_BYTES: int = env.int("MAX_IMAGE_INPUT_BYTES", default=6 * 1024 * 1024)
# Workers: where unpacked artifacts live, the unpacked-artifact cache (least recently used models are evicted
# past this size), the loaded-model cache of each worker process, torch's threads (0: the cores minus one; env
# MODELMARKET_INFERENCE_TORCH_THREADS wins), and whether CPU workers run `gpu` versions when no GPU worker exists.
MODEL_DIR: str = env.str("MODEL_DIR", default=str(VAR_DIR("models")))
MODEL_CACHE_MAX_BYTES: int = env.int("MODEL_CACHE_MAX_BYTES", default=20 * 1024**3)
MODEL_CACHE_BYTES: int = env.int("MODEL_CACHE_BYTES", default=4 * 1024**3)
INFERENCE_TORCH_THREADS: int = env.int("INFERENCE_TORCH_THREADS", default=0)
# runplatform: gunicorn threads per web process (0: 64 on PostgreSQL, 16 on SQLite) and the inference worker's
# concurrency (0: sized for the CPUs).
WEB_THREADS: int = env.int("WEB_THREADS", default=0)
INFERENCE_WORKER_CONCURRENCY: int = env.int("INFERENCE_WORKER_CONCURRENCY", default=0)
# Each model in a process of its own, its forward pass clear of the worker's GIL (inference/worker/model_process.py).
INFERENCE_MODEL_PROCESS: bool = env.bool("INFERENCE_MODEL_PROCESS", default=False)
ALLOW_GPU_FALLBACK_TO_CPU: bool = env.bool("ALLOW_GPU_FALLBACK_TO_CPU", default=True)
# Workers re-send predictions queued this long (a broker message lost to a SIGKILL); see
# inference/worker/recovery.py.
PREDICTION_REQUEUE_AFTER_SECONDS: int = env.int("PREDICTION_REQUEUE_AFTER_SECONDS", default=30)
# How a prediction reaches a worker. "redis": the web pushes its id onto a Redis list per queue and priority and
# each inference worker's dispatcher thread pops ids in bulk (inference/dispatch.py, inference/worker/dispatcher.py);
# "celery": one Celery task per prediction; "auto": redis when the broker is Redis (redis://, rediss://, or the
# embedded default's redis+socket://), celery otherwise (RabbitMQ, the filesystem broker) and for eager tasks.
PREDICTION_DISPATCH: str = env.str("PREDICTION_DISPATCH", default="auto")
if PREDICTION_DISPATCH not in ("auto", "redis", "celery"):
    raise ImproperlyConfigured(f"PREDICTION_DISPATCH must be auto, redis or celery, not {PREDICTION_DISPATCH!r}")
if PREDICTION_DISPATCH == "redis" and not CELERY_BROKER_URL.startswith(("redis://", "rediss://", "redis+socket://")):
    raise ImproperlyConfigured("PREDICTION_DISPATCH=redis needs a Redis CELERY_BROKER_URL")
# Redis dispatch: a worker whose lease is this old is dead; the survivors put the ids it held back on the queue.
PREDICTION_DISPATCH_LEASE_SECONDS: int = env.int("PREDICTION_DISPATCH_LEASE_SECONDS", default=15)
# A worker that loses the database mid-batch tries the batch again for this long before giving it up to the
# requeue loop; an outage never fails a caller's prediction.
PREDICTION_DB_RETRY_SECONDS: int = env.int("PREDICTION_DB_RETRY_SECONDS", default=60)
# Concurrent `Prefer: wait` requests and SSE streams one user may hold open (429 past these).
MAX_WAITS_PER_USER: int = env.int("MAX_WAITS_PER_USER", default=512)
MAX_STREAMS_PER_USER: int = env.int("MAX_STREAMS_PER_USER", default=64)
# Webhooks to loopback/private addresses: allowed in development (local receivers), refused in production.
WEBHOOK_ALLOW_PRIVATE_ADDRESSES: bool = env.bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=DEBUG)
# How long one webhook delivery may take.
WEBHOOK_TIMEOUT_SECONDS: float = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10)
# Seconds between delivery attempts; a delivery gives up after one attempt more than this list is long.
WEBHOOK_RETRY_DELAYS: list[int] = [int(value) for value in env.list(
    "WEBHOOK_RETRY_DELAYS", default=["5", "30", "120", "600", "1800", "3600"])]
# Datasets: the largest upload, the fewest rows a label needs, the most labels, the longest text of a row.
MAX_DATASET_BYTES: int = env.int("MAX_DATASET_BYTES", default=20 * 1024 * 1024)
MIN_ROWS_PER_LABEL: int = env.int("MIN_ROWS_PER_LABEL", default=5)
MAX_DATASET_LABELS: int = env.int("MAX_DATASET_LABELS", default=100)
MAX_DATASET_TEXT_CHARS: int = env.int("MAX_DATASET_TEXT_CHARS", default=10_000)
# Training jobs: a job's default and largest time limit, how many a developer may have queued or running, when a
# silent worker is presumed dead (and how often a job is restarted after that), how long a job may wait in the
# queue, where workers unpack and train, and whether they train on a GPU when they have one.
TRAINING_TIME_LIMIT_SECONDS: int = env.int("TRAINING_TIME_LIMIT_SECONDS", default=3600)
TRAINING_MAX_TIME_LIMIT_SECONDS: int = env.int("TRAINING_MAX_TIME_LIMIT_SECONDS", default=6 * 3600)
TRAINING_MAX_ACTIVE_JOBS: int = env.int("TRAINING_MAX_ACTIVE_JOBS", default=3)
TRAINING_STALE_SECONDS: int = env.int("TRAINING_STALE_SECONDS", default=120)
TRAINING_MAX_ATTEMPTS: int = env.int("TRAINING_MAX_ATTEMPTS", default=2)
TRAINING_QUEUE_TIMEOUT_SECONDS: int = env.int("TRAINING_QUEUE_TIMEOUT_SECONDS", default=24 * 3600)
TRAINING_WORK_DIR: str = env.str("TRAINING_WORK_DIR",
                                 default=os.path.join(tempfile.gettempdir(), "modelmarket-training"))
TRAINING_USE_GPU: bool = env.bool("TRAINING_USE_GPU", default=True)
# --- end Inference and training ------------------------------------------------------------------------------
# --- Billing (owned by the billing app) -------------------------------------------------------
# Without STRIPE_SECRET_KEY the platform runs on wallet credits only (demo grants, moderator grants).
STRIPE_SECRET_KEY: str = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET: str = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE: str = env.str("STRIPE_API_BASE", default="https://api.stripe.com")
# A Stripe call made inside a DB transaction (billing/services/stripe_api.py): "raise" (development and tests)
# or "warn" (log an error and go ahead; production).
STRIPE_CALLS_IN_TRANSACTION: str = env.str("STRIPE_CALLS_IN_TRANSACTION", default="raise" if DEBUG else "warn")
# Inference cost C per compute second, per hardware class (env BILLING_COST_PER_SECOND_CPU, _GPU).
BILLING_COST_PER_SECOND: dict[str, Decimal] = {
    "cpu": Decimal(env.str("BILLING_COST_PER_SECOND_CPU", default="0.000020")),
    "gpu": Decimal(env.str("BILLING_COST_PER_SECOND_GPU", default="0.000400")),
}
# What a fine-tuning job costs its user per compute second, per hardware class (env ..._CPU, _GPU).
BILLING_TRAINING_PRICE_PER_SECOND: dict[str, Decimal] = {
    "cpu": Decimal(env.str("BILLING_TRAINING_PRICE_PER_SECOND_CPU", default="0.000100")),
    "gpu": Decimal(env.str("BILLING_TRAINING_PRICE_PER_SECOND_GPU", default="0.002000")),
}
# The smallest and largest wallet top-up.
BILLING_TOPUP_MINIMUM: Decimal = Decimal(env.str("BILLING_TOPUP_MINIMUM", default="5.00"))
BILLING_TOPUP_MAXIMUM: Decimal = Decimal(env.str("BILLING_TOPUP_MAXIMUM", default="10000.00"))
# A developer's earnings are paid out once they reach this much.
BILLING_PAYOUT_THRESHOLD: Decimal = Decimal(env.str("BILLING_PAYOUT_THRESHOLD", default="10.00"))
# How long a quoted price holds.
BILLING_QUOTE_TTL_SECONDS: int = env.int("BILLING_QUOTE_TTL_SECONDS", default=120)
# The credits a demo account's wallet is granted (seed_demo).
BILLING_DEMO_CREDITS: Decimal = Decimal(env.str("BILLING_DEMO_CREDITS", default="25.00"))
# Owners run their own apps at cost C; this much cost per app and month is free (moderators can change it per
# app).
BILLING_OWNER_MONTHLY_ALLOWANCE: Decimal = Decimal(env.str("BILLING_OWNER_MONTHLY_ALLOWANCE", default="1.00"))
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE["billing-payouts"] = {
    "task": "billing.tasks.payouts_run",
    "schedule": env.int("BILLING_PAYOUT_INTERVAL_SECONDS", default=24 * 3600),
}
# --- end Billing -----------------------------------------------------------------------------
# --- Privacy (owned by the privacy app: retention, export, deletion, encryption at rest) --------------
# Prediction inputs and outputs are encrypted at rest (config/crypto.py). A comma-separated list of Fernet keys:
# the first encrypts, all decrypt. Rotate: put a new key first, run `manage.py rotate_prediction_key`, then drop
# the old one. Production refuses to start without it; development derives a key from SECRET_KEY.
PREDICTION_ENCRYPTION_KEYS = require_in_production(
    "PREDICTION_ENCRYPTION_KEYS",
    env.str("PREDICTION_ENCRYPTION_KEYS", default=_derive_prediction_key(SECRET_KEY) if DEBUG else ""), debug=DEBUG,
)
_parse_prediction_keys(PREDICTION_ENCRYPTION_KEYS)  # a malformed key stops the start, not the first prediction
# A `store: false` answer nobody collected is erased this long after completion anyway.
PRIVACY_UNSTORED_MAX_SECONDS: int = env.int("PRIVACY_UNSTORED_MAX_SECONDS", default=24 * 3600)
# How long a data export can be downloaded once it is ready.
PRIVACY_EXPORT_TTL_HOURS: int = env.int("PRIVACY_EXPORT_TTL_HOURS", default=24)
# Rows erased per UPDATE by the retention purge (short transactions, no long locks).
PRIVACY_PURGE_BATCH_SIZE: int = env.int("PRIVACY_PURGE_BATCH_SIZE", default=1000)
CELERY_BEAT_SCHEDULE["privacy-retention-purge"] = {
    "task": "privacy.tasks.retention_purge",
    "schedule": env.int("PRIVACY_PURGE_INTERVAL_SECONDS", default=3600),
}
# --- end Privacy -------------------------------------------------------------------------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=10 * 1024 * 1024)

# --- Observability (config/observability.py, config/metrics.py) -----------------------------------------
# Logs: one JSON object per line (python-json-logger) with the request id, or plain text for a terminal.
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "config.observability.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "config.observability.json_formatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["request_id"],
                             "formatter": "json" if LOG_FORMAT == "json" else "text"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # One line per request comes from RequestIdMiddleware; Django's own would repeat it.
        "django.server": {"level": "WARNING"},
        "modelmarket.requests": {"level": env.str("REQUEST_LOG_LEVEL", default="INFO")},
    },
}
# /metrics answers only a bearer token or clients on these networks (loopback by default; add the
# Prometheus pod network in Kubernetes). An empty token means "networks only".
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"])
# Paid calls jump the queue: message priority 0-9, higher first (config.celery.message_priority maps it for
# Redis, where 0 is first). RabbitMQ queues are declared with x-max-priority (classic queues only).
CELERY_TASK_QUEUE_MAX_PRIORITY = None if env.bool("CELERY_QUORUM_QUEUES", default=False) else 10
PREDICTION_PRIORITY: dict[str, int] = {"paid": env.int("PREDICTION_PRIORITY_PAID", default=8),
                                      "free": env.int("PREDICTION_PRIORITY_FREE", default=3)}
# RabbitMQ only: declare the queues as quorum queues (replicated; production). Quorum queues in
# RabbitMQ >= 4.0 support priorities natively (two levels: normal and high).
CELERY_QUORUM_QUEUES = env.bool("CELERY_QUORUM_QUEUES", default=False)
if CELERY_QUORUM_QUEUES:
    CELERY_TASK_DEFAULT_QUEUE_TYPE = "quorum"
    CELERY_WORKER_DETECT_QUORUM_QUEUES = True
# SIGTERM: workers stop taking messages and finish what they run (Celery's warm shutdown); tasks that
# still run after this many seconds are given back to the broker (soft shutdown) before the hard kill.
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = env.float("CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT", default=0.0)

# --- Analytics (owned by the analytics app) -------------------------------------------------------
# The usage rollups behind the developer and platform dashboards are recomputed for the last
# ANALYTICS_ROLLUP_DAYS days (today included) every ANALYTICS_ROLLUP_INTERVAL_SECONDS.
ANALYTICS_ROLLUP_DAYS: int = env.int("ANALYTICS_ROLLUP_DAYS", default=3)
ANALYTICS_ROLLUP_INTERVAL_SECONDS: int = env.int("ANALYTICS_ROLLUP_INTERVAL_SECONDS", default=300)
CELERY_BEAT_SCHEDULE["analytics-usage-rollup"] = {
    "task": "analytics.tasks.usage_rollup_recent",
    "schedule": float(ANALYTICS_ROLLUP_INTERVAL_SECONDS),
}
# --- end Analytics ---------------------------------------------------------------------------------
# --- Display currency (issue 14; billing/currency.py) ------------------------------------------------------
# Pages may show prices in USD, CNY or EUR beside the settlement amount, converted at the rates moderators keep in
# the admin (billing.CurrencyRate) and marked approximate. The ledger, quotes, charges and the API stay in
# settings.CURRENCY. Every template gets the visitor's currency (their pick, else by language).
TEMPLATES[0]["OPTIONS"]["context_processors"].append("billing.context_processors.display_currency")
# A rate older than this is still used, but the admin lists it as stale.
DISPLAY_CURRENCY_STALE_DAYS: int = env.int("DISPLAY_CURRENCY_STALE_DAYS", default=30)
# --- end Display currency ----------------------------------------------------------------------------------

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
