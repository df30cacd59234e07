"""Otklik settings, read from OTKLIK_* environment variables with safe embedded defaults.

Embedded mode (no variables set) keeps everything under OTKLIK_DATA_DIR (default ./var):
the SQLite database, uploaded files and the job queue.
"""

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DATA_DIR = Path(os.environ.get("OTKLIK_DATA_DIR", "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """Return OTKLIK_SECRET_KEY, or a random key persisted in the data directory."""
    if key := os.environ.get("OTKLIK_SECRET_KEY"):
        return key
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = _env_bool("OTKLIK_DEBUG", False)
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("OTKLIK_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "huey.contrib.djhuey",
    "otklik.core",
    "otklik.ui",
    "otklik.accounts",
    "otklik.dictionaries",
    "otklik.sla",
    "otklik.tickets",
    "otklik.routing",
    "otklik.coupons",
    "otklik.workflow",
    "otklik.kb",
    "otklik.notifications",
    # After notifications: a rule's own changes are announced after the change that triggered it.
    "otklik.automation",
    "otklik.mail",
    "otklik.reports",
    "otklik.api",
    "otklik.web",
    # django-ninja's own files: the API docs page (Swagger UI) is served from here, not from a CDN.
    # Last, so otklik.web's template ninja/swagger.html (nonce, no remote validator) wins.
    "ninja",
]

MIDDLEWARE = [
    "otklik.core.middleware.ServerTimingMiddleware",
    # Outermost but timing: every response, error pages included, carries the policy.
    "otklik.core.csp.ContentSecurityPolicyMiddleware",
    # Before CSRF reads the upload: Django drops files whose names reduce to nothing; keep them to refuse.
    "otklik.core.uploads.KeepNamelessFilesMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "otklik.api.middleware.ApiJsonErrorsMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "otklik.accounts.middleware.UserPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "otklik.urls"
WSGI_APPLICATION = "otklik.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "otklik.ui.context_processors.otklik",
                "otklik.tickets.context_processors.policy",
                "otklik.core.csp.csp_nonce",
            ],
        },
    }
]
# The configuration pages' look (issue 17): otklik.ui's admin/ templates (base_site.html) must win over
# django.contrib.admin's, which comes first in INSTALLED_APPS.
TEMPLATES[0]["DIRS"].append(BASE_DIR / "ui" / "templates")


def _sqlite_options(database: dict) -> dict:
    """Give a SQLite database Otklik's options, however it was configured (default or OTKLIK_DATABASE_URL).

    WAL lets readers run beside the writer; IMMEDIATE takes the write lock at BEGIN, so two writers wait
    for each other (busy_timeout) instead of failing with "database is locked" on a lock upgrade.
    """
    options = database.setdefault("OPTIONS", {})
    options.setdefault(
        "init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;"
    )
    options.setdefault("transaction_mode", "IMMEDIATE")
    # Opening a SQLite file costs microseconds: one connection per request, as in the default setup.
    database["CONN_MAX_AGE"] = 0
    return database


DATABASE_URL = os.environ.get("OTKLIK_DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Parameters travel apart from the SQL (no quoting and escaping in Python). Statements are not
        # prepared (Django's default): a generic plan would not see that a query matches a partial index,
        # and measured ingest and create rates did not move with preparing on.
        _pg_options = DATABASES["default"].setdefault("OPTIONS", {})
        _pg_options["server_side_binding"] = True
        # No JIT compilation: the reports' statements over a million rows are estimated costly enough to
        # trigger it, and compiling them cost 80 ms to 1 s each, more than the JIT saved (bench/RESULTS.md,
        # issue 16). Options already in the URL are kept.
        _pg_options["options"] = f"{_pg_options.get('options', '')} -c jit=off".strip()
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": DATA_DIR / "otklik.sqlite3"}}
for _database in DATABASES.values():
    if _database["ENGINE"] == "django.db.backends.sqlite3":
        _sqlite_options(_database)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# -- Read replica (issue 19, read replica): reports and the lists' total counts read from it when it is set,
# fresh enough and reachable; writes and the reads after a write stay on the primary (otklik/core/db_routing.py,
# docs/production/replica.md). Without OTKLIK_DATABASE_REPLICA_URL nothing changes.
DATABASE_REPLICA_URL = os.environ.get("OTKLIK_DATABASE_REPLICA_URL", "")
OTKLIK_REPLICA_PIN_SECONDS = int(os.environ.get("OTKLIK_REPLICA_PIN_SECONDS", "5"))
OTKLIK_REPLICA_MAX_LAG_SECONDS = float(os.environ.get("OTKLIK_REPLICA_MAX_LAG_SECONDS", "30"))
OTKLIK_REPLICA_CHECK_SECONDS = float(os.environ.get("OTKLIK_REPLICA_CHECK_SECONDS", "3"))
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(DATABASE_REPLICA_URL, conn_max_age=60)
    if DATABASES["replica"]["ENGINE"] == "django.db.backends.postgresql":
        # As the primary's; a replica that does not answer must not hold a page long (falls back).
        _replica_options = DATABASES["replica"].setdefault("OPTIONS", {})
        _replica_options.update(server_side_binding=True)
        _replica_options.setdefault("connect_timeout", 3)
        _replica_options["options"] = f"{_replica_options.get('options', '')} -c jit=off".strip()
    # Tests read the test database through it (a mirror), so the suite runs unchanged with a replica set.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["otklik.core.db_routing.ReplicaRouter"]
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware") + 1,
        "otklik.core.db_routing.ReplicaPinMiddleware",
    )

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

LANGUAGE_CODE = os.environ.get("OTKLIK_LANGUAGE", "ru")
LANGUAGES = [("ru", "Русский"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = os.environ.get("OTKLIK_TIME_ZONE", "Europe/Moscow")
# One date and time format in both languages ("05.03.2025 14:30"; forms also read ISO): otklik/ui/formats.
FORMAT_MODULE_PATH = ["otklik.ui.formats"]

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(DATA_DIR / "files"), "file_permissions_mode": 0o640},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Uploads: keep big files on disk while the request is parsed, never in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# The largest API request body (JSON) in bytes; a larger one answers 413. Uploads (multipart) have their own
# per-file and per-message limits (F-04).
API_MAX_BODY_BYTES = int(os.environ.get("OTKLIK_API_MAX_BODY_BYTES", str(1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = max(10 * 1024 * 1024, API_MAX_BODY_BYTES)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5000

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# HTTPS deployment (README "Deploying safely"): OTKLIK_HTTPS=1 when users reach Otklik over https://,
# usually through a reverse proxy that terminates TLS and says so in a header.
HTTPS = _env_bool("OTKLIK_HTTPS", False)
if HTTPS:
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # A year by default; browsers then refuse plain http for the host and its subdomains.
    SECURE_HSTS_SECONDS = int(os.environ.get("OTKLIK_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("OTKLIK_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = _env_bool("OTKLIK_HSTS_PRELOAD", False)
    # "HEADER,value": the request came over https when the proxy set HEADER to value. Empty: no proxy
    # (granian terminates TLS itself). Only set it when the proxy overwrites the header from clients.
    _proxy_header = os.environ.get("OTKLIK_PROXY_SSL_HEADER", "HTTP_X_FORWARDED_PROTO,https")
    if _proxy_header.strip():
        _name, _, _value = _proxy_header.partition(",")
        SECURE_PROXY_SSL_HEADER = (_name.strip(), _value.strip())
    if not SECURE_HSTS_PRELOAD:
        # Preloading is a separate, hard-to-undo decision (submitting the domain to the browsers' list):
        # off unless OTKLIK_HSTS_PRELOAD=1, so Django's advice to turn it on is not a deployment warning.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]

# Outgoing mail. OTKLIK_SMTP_URL, e.g. smtp://user:pass@host:587?starttls=1 (smtps:// for TLS from the
# start; ?timeout=S), sends through SMTP; without it mail is written to files in the data directory's
# mail/ folder, so nothing is lost and a person can read it.
SMTP_URL = os.environ.get("OTKLIK_SMTP_URL", "")
EMAIL_FILE_PATH = DATA_DIR / "mail"
EMAIL_TIMEOUT = 30
if SMTP_URL:
    from urllib.parse import parse_qs, unquote

    _smtp = urlsplit(SMTP_URL)
    if _smtp.scheme not in ("smtp", "smtps"):
        raise ValueError(f"OTKLIK_SMTP_URL must start with smtp:// or smtps://, not {_smtp.scheme}://")
    _query = {k: v[-1] for k, v in parse_qs(_smtp.query).items()}
    # Django's SMTP backend, verifying TLS against the system's CAs and OTKLIK_MAIL_CA_FILE.
    EMAIL_BACKEND = "otklik.notifications.smtp.EmailBackend"
    EMAIL_HOST = _smtp.hostname or "localhost"
    EMAIL_USE_SSL = _smtp.scheme == "smtps"
    EMAIL_USE_TLS = not EMAIL_USE_SSL and _query.get("starttls", "0").lower() in ("1", "true", "yes", "on")
    EMAIL_PORT = _smtp.port or (465 if EMAIL_USE_SSL else 587 if EMAIL_USE_TLS else 25)
    EMAIL_HOST_USER = unquote(_smtp.username or "")
    EMAIL_HOST_PASSWORD = unquote(_smtp.password or "")
    EMAIL_TIMEOUT = int(_query.get("timeout", EMAIL_TIMEOUT))
else:
    EMAIL_BACKEND = os.environ.get("OTKLIK_EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("OTKLIK_FROM_EMAIL", "support@otklik.localhost")
# Mail over TLS or STARTTLS (IMAP and POP3 in, SMTP out) always verifies the server's certificate and name.
# A PEM file of CA certificates (a company's private CA) trusted in addition to the system's; empty: none.
MAIL_TLS_CA_FILE = os.environ.get("OTKLIK_MAIL_CA_FILE", "")
# Threads that process a fetched IMAP batch on PostgreSQL (related mail stays on one thread, in order).
MAIL_THREADS = int(os.environ.get("OTKLIK_MAIL_THREADS", "3"))
# Links in mail point here; the name signs the mail.
OTKLIK_SITE_URL = os.environ.get("OTKLIK_SITE_URL", "http://127.0.0.1:8000")
OTKLIK_SITE_NAME = os.environ.get("OTKLIK_SITE_NAME", "Otklik")
# Forms posted from the site's own address are trusted (behind a proxy the Host may differ), plus any others.
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("OTKLIK_CSRF_TRUSTED_ORIGINS", "").split(",") if o]
if OTKLIK_SITE_URL.startswith(("https://", "http://")):
    _site = urlsplit(OTKLIK_SITE_URL)
    CSRF_TRUSTED_ORIGINS.insert(0, f"{_site.scheme}://{_site.netloc}")
# The outbox: how long a delivery may hold a message before another worker takes it over, and how
# many attempts a message gets before it is marked failed (admins can retry it).
# Configuration read on every ticket write (options, dictionaries, SLA levels, admins, mail templates) is
# kept per process this many seconds; other processes see an admin's change within it. 0: no cache.
OTKLIK_CONFIG_CACHE_SECONDS = float(os.environ.get("OTKLIK_CONFIG_CACHE_SECONDS", "5"))
OUTBOX_LEASE_SECONDS = int(os.environ.get("OTKLIK_OUTBOX_LEASE_SECONDS", "120"))
OUTBOX_MAX_ATTEMPTS = int(os.environ.get("OTKLIK_OUTBOX_MAX_ATTEMPTS", "10"))

REDIS_URL = os.environ.get("OTKLIK_REDIS_URL", "")
if REDIS_URL:
    HUEY = {"huey_class": "huey.RedisHuey", "name": "otklik", "url": REDIS_URL, "immediate": False}
    # Django's cache holds the registration and password-reset limits: in Redis every web process counts
    # together (the embedded default, per-process memory, is right for one process only).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "otklik",
        }
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "otklik",
        "filename": str(DATA_DIR / "jobs.sqlite3"),
        "immediate": False,
    }

OTKLIK_HOST = os.environ.get("OTKLIK_HOST", "127.0.0.1")
OTKLIK_PORT = int(os.environ.get("OTKLIK_PORT", "8000"))

# -- Structured logs (issue 19, capability "Structured logs"; docs/production/logs.md): every logger to stderr,
# one line per request and per job with the request id. OTKLIK_LOG_FORMAT=json|text; unset: text under DEBUG
# or on a terminal (make run), JSON lines otherwise (journald, docker). Its middleware goes in front (only the
# metrics' middleware, inserted at 0 further down, sits outside it), so every answer gets its line.
from otklik.core.logs import log_format_from_env, logging_config  # noqa: E402

LOG_FORMAT = log_format_from_env(os.environ.get("OTKLIK_LOG_FORMAT", ""), debug=DEBUG)
LOGGING = logging_config(LOG_FORMAT, level=os.environ.get("OTKLIK_LOG_LEVEL", "WARNING").upper())
MIDDLEWARE.insert(0, "otklik.core.logs.RequestLogMiddleware")

# -- Identity and access (issue 12): deny by default, address confirmation, password reset, login throttling
from datetime import timedelta  # noqa: E402

# Every page needs a login unless its view opts out with `login_not_required` (the API answers 401 itself).
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
)
# How long the link confirming a registered address works, in days (F-12).
OTKLIK_CONFIRM_DAYS = int(os.environ.get("OTKLIK_CONFIRM_DAYS", "3"))
# Registrations from one IP address per hour (each one mails its address).
OTKLIK_REGISTRATIONS_PER_HOUR = int(os.environ.get("OTKLIK_REGISTRATIONS_PER_HOUR", "10"))
# How long a password reset link works (it also stops working once used or once the password changed).
PASSWORD_RESET_TIMEOUT = int(os.environ.get("OTKLIK_PASSWORD_RESET_HOURS", "24")) * 3600
# Password reset requests: at most this many per hour from one IP address and per e-mail address.
OTKLIK_PASSWORD_RESET_PER_HOUR = int(os.environ.get("OTKLIK_PASSWORD_RESET_PER_HOUR", "5"))
# Login throttling (django-axes, database handler: shared by every process): after this many failures for
# one login or from one IP address, both are refused for the lockout time (then the count starts over).
OTKLIK_LOGIN_FAILURE_LIMIT = int(os.environ.get("OTKLIK_LOGIN_FAILURE_LIMIT", "5"))
OTKLIK_LOGIN_LOCKOUT_MINUTES = int(os.environ.get("OTKLIK_LOGIN_LOCKOUT_MINUTES", "15"))
INSTALLED_APPS.append("axes")
MIDDLEWARE.append("axes.middleware.AxesMiddleware")  # last, as axes asks
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out login before the password check
    "otklik.accounts.backends.ProfileModelBackend",  # the user with their profile, in one query
    # Sessions opened before the backend above existed name this one; kept so nobody is signed out.
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = OTKLIK_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=OTKLIK_LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one's failures lock it
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # failures are kept; a row per successful login is not needed
AXES_USERNAME_CALLABLE = "otklik.accounts.throttle.axes_username"
AXES_CLIENT_IP_CALLABLE = "otklik.accounts.throttle.client_ip"
AXES_LOCKOUT_CALLABLE = "otklik.accounts.views.locked_out"
AXES_HTTP_RESPONSE_CODE = 429

# -- Health and metrics (issue 19, capability "Health" and "Metrics"; docs/production/health-and-metrics.md)
# /metrics answers a valid "Authorization: Bearer <token>" when a token is set, and any client whose address
# (REMOTE_ADDR) is in the allow list: comma-separated IPs or CIDRs, loopback by default; empty: none.
OTKLIK_METRICS_TOKEN = os.environ.get("OTKLIK_METRICS_TOKEN", "")
OTKLIK_METRICS_ALLOW = os.environ.get("OTKLIK_METRICS_ALLOW", "127.0.0.0/8,::1")
# prometheus-client's multiprocess mode: every process writes its counters into files here and a scrape of
# any web worker sums them. Set before prometheus_client is first imported (it reads it at import); always
# derived from this process's data directory, so a child started with another one never shares it.
METRICS_DIR = Path(os.environ.get("OTKLIK_METRICS_DIR") or DATA_DIR / "metrics").resolve()
METRICS_DIR.mkdir(parents=True, exist_ok=True)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(METRICS_DIR)
MIDDLEWARE.insert(0, "otklik.web.metrics_middleware.RequestMetricsMiddleware")  # outermost: times everything

# -- Behind a reverse proxy (issue 19): the addresses or networks of the proxies in front of Otklik, e.g.
# "127.0.0.1" for nginx on the same machine. From them, the client's address (login throttling, registration
# limits) is read from X-Forwarded-For; from anyone else the header is ignored. Empty: no proxy is trusted.
OTKLIK_TRUSTED_PROXIES = os.environ.get("OTKLIK_TRUSTED_PROXIES", "")
MIDDLEWARE.insert(0, "otklik.core.proxy.TrustedProxyMiddleware")  # first: everything after sees the client
