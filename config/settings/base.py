"""Settings shared by every environment; everything that differs comes from the environment."""

import os
from pathlib import Path
from typing import Any

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = [h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h]
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "annotation",
    "learning",
    "datacards",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
            ],
        },
    }
]

# Embedded default: SQLite in the project folder. DATABASE_URL switches to PostgreSQL.
DATABASES = {
    "default": dj_database_url.config(
        env="DATABASE_URL",
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the annotate page read while an import writes; a busy timeout instead of
    # "database is locked" when two requests write at once.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(os.environ.get("GOLDSET_MEDIA_ROOT", BASE_DIR / "media"))
MEDIA_URL = "/media/"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the annotate page's script reads it to send X-CSRFToken
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Uploaded import files are streamed to a temporary file, never held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024

CACHE_URL = os.environ.get("CACHE_URL") or os.environ.get("CELERY_BROKER_URL")
if CACHE_URL and CACHE_URL.startswith("redis"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "goldset",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: eager (in-process) unless a broker is configured.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "expire-stale-leases": {
        "task": "annotation.tasks.assignment_expire_stale_task",
        "schedule": 60.0,
    },
    "agreement-sweep": {
        "task": "annotation.tasks.agreement_sweep_task",
        "schedule": float(os.environ.get("GOLDSET_AGREEMENT_SWEEP_SECONDS", "600")),
    },
    # Active learning: fail stale runs, retrain projects with enough new gold labels or time.
    "learning-schedule": {
        "task": "learning.tasks.model_run_schedule_task",
        "schedule": 60.0,
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "annotation.api.authentication.FastTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [],
    "EXCEPTION_HANDLER": "annotation.api.exceptions.api_exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "goldset API",
    "DESCRIPTION": "Projects, items, the annotation queue and submissions.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema names every endpoint and field: for signed-in users and token holders only.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a `reason` or `status` field with different choices: name them.
    "ENUM_NAME_OVERRIDES": {
        "CaseReasonEnum": "annotation.models.AdjudicationCase.Reason",
        "CaseStatusEnum": "annotation.models.AdjudicationCase.Status",
        "ModelRunStatusEnum": "learning.models.ModelRun.Status",
        "ModelRunTriggerEnum": "learning.models.ModelRun.Trigger",
        "ModelRunModeEnum": "learning.models.ModelRun.Mode",
        "SelectionReasonEnum": "annotation.models.Item.SelectionReason",
        "NoiseRunStatusEnum": "learning.models.NoiseRun.Status",
        "NoiseRunTriggerEnum": "learning.models.NoiseRun.Trigger",
        "LabelIssueStatusEnum": "learning.models.LabelIssue.Status",
        "LabelIssueStatusFilterEnum": "learning.api.serializers_noise.ISSUE_STATUS_FILTER",
    },
}

# goldset's own limits.
GOLDSET: dict[str, Any] = {
    "ITEM_TEXT_MAX_CHARS": int(os.environ.get("GOLDSET_ITEM_TEXT_MAX_CHARS", "100000")),
    "IMPORT_MAX_FILE_BYTES": int(os.environ.get("GOLDSET_IMPORT_MAX_FILE_BYTES", str(4 * 1024**3))),
    "IMPORT_MAX_ERRORS_KEPT": 1000,
    "IMPORT_BATCH_SIZE": 5000,
    # PostgreSQL: check an import's two foreign keys (project, job) once under a key-share lock
    # instead of once per row (session_replication_role for the COPY only; needs the privilege,
    # otherwise the per-row checks simply stay on). See annotation/services/imports/write.py.
    "IMPORT_CHECK_FOREIGN_KEYS_ONCE": env_bool("GOLDSET_IMPORT_CHECK_FOREIGN_KEYS_ONCE", True),
    "UNDO_WINDOW_SECONDS": int(os.environ.get("GOLDSET_UNDO_WINDOW_SECONDS", "120")),
    "MAX_LEASES_PER_ANNOTATOR": 3,
    # Agreement snapshots (annotation/services/agreement): the first label change of a project
    # asks for a snapshot computed this many seconds later, so a burst of submits costs one
    # computation; beat's sweep catches anything missed every AGREEMENT_SWEEP_SECONDS.
    "AGREEMENT_DEBOUNCE_SECONDS": int(os.environ.get("GOLDSET_AGREEMENT_DEBOUNCE_SECONDS", "60")),
    "AGREEMENT_SWEEP_SECONDS": int(os.environ.get("GOLDSET_AGREEMENT_SWEEP_SECONDS", "600")),
    "AGREEMENT_BOOTSTRAP": int(os.environ.get("GOLDSET_AGREEMENT_BOOTSTRAP", "1000")),
    # Gold-question answers an annotator needs before an accuracy below the project's alert
    # threshold raises an alert (fewer is noise: 2 wrong of 3 says little).
    "AGREEMENT_GOLD_ALERT_MIN_ANSWERS": 5,
    "AGREEMENT_KEEP_SNAPSHOTS": 20,
    # Active learning (learning/services, docs/operations.md). A run's task is stopped after
    # LEARNING_RUN_TIME_LIMIT_SECONDS (+60 s hard); a run queued or running longer than
    # LEARNING_RUN_STALE_AFTER_SECONDS is failed as dead (keep it above the hard limit).
    "LEARNING_RUN_TIME_LIMIT_SECONDS": int(
        os.environ.get("GOLDSET_LEARNING_RUN_TIME_LIMIT_SECONDS", "1800")
    ),
    "LEARNING_RUN_STALE_AFTER_SECONDS": int(
        os.environ.get("GOLDSET_LEARNING_RUN_STALE_AFTER_SECONDS", "2400")
    ),
    "LEARNING_POOL_CHUNK": int(os.environ.get("GOLDSET_LEARNING_POOL_CHUNK", "20000")),
    "LEARNING_TEXT_MAX_CHARS": int(os.environ.get("GOLDSET_LEARNING_TEXT_MAX_CHARS", "5000")),
    "LEARNING_AUDIT_FLOOR": float(os.environ.get("GOLDSET_LEARNING_AUDIT_FLOOR", "0.1")),
    # Label-noise review (learning/services/noise.py): K of the K-fold out-of-fold
    # probabilities (a class with fewer gold items than K is left out of the check), and
    # whether every successful model run asks for a check of the gold labels afterwards.
    "LEARNING_NOISE_FOLDS": int(os.environ.get("GOLDSET_LEARNING_NOISE_FOLDS", "5")),
    # Threads one model run or label-noise check computes with (the cores one worker process
    # may use): one-vs-rest categories of the training fit and cross-validation folds at once,
    # and a model run's folds fit while it scores its pool. 1: everything one step at a time.
    "LEARNING_THREADS": int(os.environ.get("GOLDSET_LEARNING_THREADS", "2")),
    "LEARNING_NOISE_AFTER_MODEL_RUN": env_bool("GOLDSET_LEARNING_NOISE_AFTER_MODEL_RUN", True),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
}
