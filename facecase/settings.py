"""FaceCase settings. Everything comes from the environment (``facecase.env``) with safe local defaults:
SQLite under ``var/``, an embedded Redis started by ``manage.py runall``, a secret key generated once."""

from __future__ import annotations

import secrets
from datetime import timedelta
from importlib.util import find_spec
from pathlib import Path

import dj_database_url

from facecase.env import env_bool, env_float, env_int, env_json_object, env_list, env_str

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
    "axes",
    "facecase",
    "suspects",
    "footage",
    "cameras",
    "evidence",
    "facesearch",
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
    # Last, as django-axes asks: it turns a locked-out login (page, admin or /api/token/) into a 429.
    "axes.middleware.AxesMiddleware",
]

# Login throttling (django-axes, attempts kept in the database so every web host sees them): after
# FACECASE_LOGIN_FAILURE_LIMIT failed logins, that username is locked, and separately that address is locked,
# for FACECASE_LOGIN_COOLOFF_MINUTES. The page login, the admin login and /api/token/ all go through it.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("FACECASE_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("FACECASE_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
# Behind a reverse proxy the client address is the last X-Forwarded-For hop the proxy added.
AXES_IPWARE_PROXY_COUNT = env_int("FACECASE_PROXY_COUNT", 0) or None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if env_int("FACECASE_PROXY_COUNT", 0) else ["REMOTE_ADDR"]
)
# API tokens stop working this long after they were issued; /api/token/ then issues a new one.
FACECASE_TOKEN_TTL = timedelta(days=env_float("FACECASE_TOKEN_TTL_DAYS", 30))

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
        # With persistent connections, one the server dropped (restart, failover) is replaced before it is reused.
        conn_health_checks=True,
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
# Ed25519 key signing evidence packages (PEM, PKCS#8); unset: generated once into var/ (evidence/signing.py)
FACECASE_SIGNING_KEY_FILE = env_str("FACECASE_SIGNING_KEY_FILE")
# Chance that a face of someone who is not in the registry raises an alert against the whole registry: the alert
# threshold tightens as the registry grows (footage.calibration.alert_threshold).
FACECASE_FALSE_ALERT_RATE = env_float("FACECASE_FALSE_ALERT_RATE", 0.01)
# Analysis settings for uploads and cameras: a JSON object of enhancement.analysis.AnalysisConfig fields that override
# its defaults, e.g. {"probe_embedder": "student"}; an unknown field stops the analysis with a clear error.
FACECASE_ANALYSIS = env_json_object("FACECASE_ANALYSIS", {})
# run_cameras logs RSS and the Python object types that grew most every N seconds (0: never; benchmarks.live sets it)
FACECASE_CAMERAS_MEMORY_LOG_S = env_float("FACECASE_CAMERAS_MEMORY_LOG_S", 0.0)
# run_cameras matches (enhancement, embedding, alerts) in a thread per camera beside its frame loop; 1: in the frame
# loop itself, as before (a slow match then costs the camera frames; benchmarks.live compares the two)
FACECASE_CAMERAS_MATCH_INLINE = env_bool("FACECASE_CAMERAS_MATCH_INLINE", False)
# Evidence clips of camera alerts: "pyav" (libvpx real-time mode, ~a quarter of the CPU) or "opencv" (its VP8 writer)
FACECASE_CAMERAS_CLIP_ENCODER = env_str("FACECASE_CAMERAS_CLIP_ENCODER", "pyav")
if FACECASE_CAMERAS_CLIP_ENCODER not in ("pyav", "opencv"):
    raise ValueError(f"FACECASE_CAMERAS_CLIP_ENCODER={FACECASE_CAMERAS_CLIP_ENCODER!r}: use pyav or opencv")
# Every upload goes through the hashing handler: streamed to private storage, SHA-256 computed on the way.
FILE_UPLOAD_HANDLERS = ["facecase.uploads.HashingUploadHandler"]
FILE_UPLOAD_PERMISSIONS = 0o600

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# FACECASE_HTTPS=1 in production: a TLS-terminating proxy in front of daphne (docs/deploy.md). Cookies only over
# HTTPS, HSTS, plain HTTP redirected; the proxy says a request came over HTTPS with X-Forwarded-Proto, so daphne
# must be reachable only through it. `manage.py check --deploy` is clean in this configuration (tested).
FACECASE_HTTPS = env_bool("FACECASE_HTTPS", False)
if FACECASE_HTTPS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = env_int("FACECASE_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("FACECASE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("FACECASE_HSTS_PRELOAD", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [f"https://{host}" for host in ALLOWED_HOSTS])

REDIS_URL = env_str("REDIS_URL") or _published_redis_url()

# Live channel: one Redis connection pool per web process, sized for the sockets it serves (each socket's
# connect and disconnect borrow a connection for a few group commands); when all are busy a caller waits for one
# instead of failing (facecase/channel_layer.py). The socket timeout stays above the layer's 5 s blocking pop.
FACECASE_WS_REDIS_CONNECTIONS = env_int("FACECASE_WS_REDIS_CONNECTIONS", 200)
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "facecase.channel_layer.PooledRedisChannelLayer",
        "CONFIG": {
            "hosts": [{"address": REDIS_URL, "max_connections": FACECASE_WS_REDIS_CONNECTIONS}],
            "prefix": env_str("FACECASE_CHANNEL_PREFIX", "facecase"),
            # Messages waiting per channel (and per web process) before new ones are dropped: a burst of alerts
            # must fit (channels_redis' default is 100).
            "capacity": env_int("FACECASE_WS_CHANNEL_CAPACITY", 1000),
        },
    }
}

# Job leases (footage/tasks.py): a running job's worker writes a heartbeat every FACECASE_JOB_HEARTBEAT_S; the sweep
# queues again a job whose heartbeat is older than FACECASE_JOB_STALE_AFTER_S (its worker or host died) and re-sends
# queued jobs the queue forgot (FACECASE_JOB_RESEND_AFTER_S). A job whose worker died this many times fails.
FACECASE_JOB_HEARTBEAT_S = env_float("FACECASE_JOB_HEARTBEAT_S", 15)
FACECASE_JOB_STALE_AFTER_S = env_float("FACECASE_JOB_STALE_AFTER_S", 180)
FACECASE_JOB_RESEND_AFTER_S = env_float("FACECASE_JOB_RESEND_AFTER_S", 600)
FACECASE_JOB_MAX_ATTEMPTS = env_int("FACECASE_JOB_MAX_ATTEMPTS", 3)

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
        "facecase.authentication.ExpiringTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON bodies only (uploads say MultiPartParser on their view), so the schema offers one content type.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    # Declares the error statuses every operation can answer (facecase/api_schema.py).
    "DEFAULT_SCHEMA_CLASS": "facecase.api_schema.ApiSchema",
    # limit 1..500 and offset checked: a bad value is a 400, never a 500 or a silent default.
    "DEFAULT_PAGINATION_CLASS": "facecase.api_pagination.CheckedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    # {"detail": ...} or field errors, always JSON (facecase/api_errors.py).
    "EXCEPTION_HANDLER": "facecase.api_errors.api_exception_handler",
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
        "ProfileStatusEnum": "facesearch.models.Profile.Status",
        # two fields named source_kind: a camera's address kind, a sighting's source (footage or camera)
        "SourceKindEnum": ["rtsp", "http", "device", "file"],
        "SightingSourceKindEnum": ["footage", "camera"],
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"daphne": {"level": "WARNING"}},
}
