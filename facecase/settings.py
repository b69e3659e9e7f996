"""FaceCase settings. Everything comes from the environment (``facecase.env``) with safe local defaults:
SQLite under ``var/``, an embedded Redis started by ``manage.py runall``, a secret key generated once."""

from __future__ import annotations

import secrets
from importlib.util import find_spec
from pathlib import Path

import dj_database_url

from facecase.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("FACECASE_VAR_DIR", str(BASE_DIR / "var"))).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _generated_secret_key() -> str:
    # Generated once and kept, so sessions survive restarts without anyone choosing a key by hand.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


def _published_redis_url() -> str:
    # ``manage.py runall`` starts the embedded Redis and writes its URL here before starting web and worker.
    published = VAR_DIR / "redis.url"
    if published.exists():
        return published.read_text().strip()
    return f"unix://{VAR_DIR / 'redis.sock'}"


SECRET_KEY = env_str("SECRET_KEY") or _generated_secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", ["http://127.0.0.1:8000", "http://localhost:8000"])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "channels",
    "django_q",
    "facecase",
    "suspects",
    "footage",
    "cameras",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "facecase.uploads.DiscardUnstoredUploadsMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "facecase.urls"
ASGI_APPLICATION = "facecase.asgi.application"
WSGI_APPLICATION = None

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
                "facecase.context_processors.roles",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web and worker are separate processes: wait for locks instead of failing, and let readers run
    # beside the writer (WAL). The test database is a file too, so a real qcluster process can share it.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test_db.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"

# Uploaded and derived media live here and are served only by the permission-checked media view.
PRIVATE_MEDIA_ROOT = Path(env_str("PRIVATE_MEDIA_ROOT", str(VAR_DIR / "media"))).resolve()
FACECASE_MAX_UPLOAD_BYTES = env_int("FACECASE_MAX_UPLOAD_BYTES", 2 * 1024**3)
# Chance that a face of someone who is not in the registry raises an alert against the whole registry: the alert
# threshold tightens as the registry grows (footage.calibration.alert_threshold).
FACECASE_FALSE_ALERT_RATE = env_float("FACECASE_FALSE_ALERT_RATE", 0.01)
# Every upload goes through the hashing handler: streamed to private storage, SHA-256 computed on the way.
FILE_UPLOAD_HANDLERS = ["facecase.uploads.HashingUploadHandler"]
FILE_UPLOAD_PERMISSIONS = 0o600

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

REDIS_URL = env_str("REDIS_URL") or _published_redis_url()

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": env_str("FACECASE_CHANNEL_PREFIX", "facecase")},
    }
}

# Footage analysis of a long video is slow on CPU; a task is killed only after this long.
TASK_TIMEOUT_S = env_int("FACECASE_Q_TIMEOUT", 6 * 3600)
Q_CLUSTER = {
    "name": env_str("FACECASE_Q_NAME", "facecase"),
    "workers": env_int("FACECASE_Q_WORKERS", 1),
    "recycle": 50,
    "timeout": TASK_TIMEOUT_S,
    "retry": TASK_TIMEOUT_S + 60,
    "max_attempts": 1,
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 500,
    "redis": REDIS_URL,
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
}

# The API docs page loads Swagger UI from a CDN unless the sidecar package (the same files, served by us) is
# installed; with it the docs also work on machines without internet access.
HAS_SPECTACULAR_SIDECAR = find_spec("drf_spectacular_sidecar") is not None
if HAS_SPECTACULAR_SIDECAR:
    INSTALLED_APPS.append("drf_spectacular_sidecar")

SPECTACULAR_SETTINGS = {
    "TITLE": "FaceCase API",
    "DESCRIPTION": "Cases, footage ingest and job status, suspect registry, match alerts and their review.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    **(
        {"SWAGGER_UI_DIST": "SIDECAR", "SWAGGER_UI_FAVICON_HREF": "SIDECAR", "REDOC_DIST": "SIDECAR"}
        if HAS_SPECTACULAR_SIDECAR else {}
    ),
    "ENUM_NAME_OVERRIDES": {
        "CaseStatusEnum": "facecase.models.Case.Status",
        "SuspectStatusEnum": "suspects.models.Suspect.Status",
        "FootageStatusEnum": "footage.models.Footage.Status",
        "AlertStatusEnum": "footage.models.Alert.Status",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"daphne": {"level": "WARNING"}},
}
