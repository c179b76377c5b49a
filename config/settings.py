"""Milestone settings: every value comes from the environment, with safe local defaults.

`DJANGO_ENV=production` switches on production behaviour (HTTPS only, secure cookies,
a required SECRET_KEY); it passes `manage.py check --deploy --fail-level WARNING`.
"""

import hashlib
from pathlib import Path
from secrets import token_urlsafe

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from core.durations import duration_parse, durations_parse

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("MILESTONE_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()

# --- Environment -------------------------------------------------------------------
DJANGO_ENV = env.str("DJANGO_ENV", default="development")
IS_PRODUCTION = DJANGO_ENV == "production"
DEBUG = env.bool("DEBUG", default=not IS_PRODUCTION)


def _local_secret_key() -> str:
    """Generate a key once and keep it under var/ so local sessions survive restarts."""
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


# Production refuses to start without an explicit key; local runs get a generated one.
SECRET_KEY = env.str("SECRET_KEY") if IS_PRODUCTION else env.str("SECRET_KEY", default="") or _local_secret_key()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if IS_PRODUCTION else ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# --- Applications ------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_fsm",
    "csp",
    # The project's apps, bottom layer first (see README "Architecture").
    "core",
    "users",
    "notifications",
    "payments.ledger",
    "payments",
    "milestones",
    "reputation",
    "marketplace",
    "contracts",
    "disputes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.middleware.UserTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "users.middleware.StaffMfaRequiredMiddleware",
]

# Content-Security-Policy (django-csp 4): nothing inline, nothing from another origin. A response that
# already carries the header keeps it (the deliverable download sets its own sandbox policy).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "notifications.context_processors.unread_count",
            ],
        },
    },
]

# --- Data --------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'milestone.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60 if IS_PRODUCTION else 0)
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The dashboard index's covered column is a PostgreSQL speed-up; SQLite builds the index without it.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]

# bench/ only: serves a bare view (a plain response through every middleware and the session) at
# /bench/bare/ as the baseline the page benchmarks divide by. Never in production.
BENCH_VIEWS = env.bool("BENCH_VIEWS", default=False)
if BENCH_VIEWS and IS_PRODUCTION:
    raise ImproperlyConfigured("BENCH_VIEWS is for bench/ only and cannot be enabled in production.")
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # make run's web server, worker and beat share one SQLite file: wait for a lock instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
# Two PostgreSQL roles (README "Database roles"): DATABASE_URL is the application role, which owns
# nothing and may only add to the ledger; MIGRATION_DATABASE_URL, set only where migrations run, is
# the owner of the tables, used by `migrate --database owner` (which then grants the application role).
MIGRATION_DATABASE_ALIAS = "owner"
if migration_database_url := env.str("MIGRATION_DATABASE_URL", default=""):
    _owner = {**env.db_url_config(migration_database_url), "ATOMIC_REQUESTS": False, "CONN_MAX_AGE": 0}
    if any(_owner.get(key) != DATABASES["default"].get(key) for key in ("ENGINE", "NAME", "HOST", "PORT")):
        raise ImproperlyConfigured("MIGRATION_DATABASE_URL must name the same database as DATABASE_URL.")
    DATABASES[MIGRATION_DATABASE_ALIAS] = _owner
# Only `db_roles_create` uses it, to create the two roles and the database.
DATABASE_SUPERUSER_URL = env.str("DATABASE_SUPERUSER_URL", default="")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# A real cache: allauth's rate limits are silently off with DummyCache. The default file
# cache is shared by runserver and the Celery processes; production points this at Redis.
CACHES = {"default": env.cache_url("CACHE_URL", default=f"filecache://{VAR_DIR / 'cache'}")}

# --- Users and accounts ------------------------------------------------------------
AUTH_USER_MODEL = "users.User"
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
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"

ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "users.forms.SignupProfileForm"
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True  # same browser session only
ACCOUNT_EMAIL_NOTIFICATIONS = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_REAUTHENTICATION_REQUIRED = True
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if IS_PRODUCTION else "http"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Milestone] "
# Emails greet with the site's name ("Hello from Milestone!"), never the request's host:port.
ACCOUNT_ADAPTER = "users.adapters.AccountAdapter"
# Staff must use an authenticator app (TOTP, with recovery codes) before they can open admin;
# users.middleware.StaffMfaRequiredMiddleware enforces it.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Milestone"
# allauth's defaults, written out so they are visible and reviewed: failed logins are
# limited per IP and per account, sign-ups and resets per IP.
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "confirm_email": "1/3m/key",
    "change_password": "5/m/user",
}
# Behind a load balancer, set this to the number of trusted proxies so rate limits see
# the client's address instead of the proxy's.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- Email -------------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Milestone <no-reply@milestone.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Time and language ---------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"  # stored and scheduled in UTC; each user sees their own zone
USE_I18N = True
USE_TZ = True

# --- Static files and uploads --------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Front-end libraries come from npm (package-lock.json) and are served by us, never a CDN.
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/pico", NODE_MODULES / "@picocss" / "pico" / "css"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
]
# Uploaded deliverables are private: they live outside the web root and are served only
# through a view that checks access. MEDIA_URL is deliberately not routed anywhere.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "uploads")))
MEDIA_URL = "/private-media-not-served/"
STORAGES = {
    "default": {"BACKEND": env.str("FILE_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage")},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if IS_PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# --- Marketplace -----------------------------------------------------------------------
# Limits on what a proposal may ask for; amounts are minor units (cents).
PROPOSAL_MAX_MILESTONES = env.int("PROPOSAL_MAX_MILESTONES", default=10)
MILESTONE_MAX_AMOUNT_MINOR = env.int("MILESTONE_MAX_AMOUNT_MINOR", default=100_000_000)
JOB_MAX_BUDGET_MINOR = env.int("JOB_MAX_BUDGET_MINOR", default=1_000_000_000)

# --- Milestones ----------------------------------------------------------------------
# Periods are a number and a unit ("90s", "10m", "2h", "14d", core/durations.py), so a demo can run
# the timers in minutes (README: Demo timers).
# How long a client has to review a submission before it is released automatically.
MILESTONE_REVIEW_PERIOD = duration_parse(
    env.str("MILESTONE_REVIEW_PERIOD", default="14d"), name="MILESTONE_REVIEW_PERIOD"
)
# The client's three review reminders: this long before the automatic release, longest first.
MILESTONE_REVIEW_REMINDERS = durations_parse(
    env.str("MILESTONE_REVIEW_REMINDERS", default="7d,3d,1d"), name="MILESTONE_REVIEW_REMINDERS", count=3
)
# The freelancer's two due-date reminders before funded work is due (a third comes once it is overdue).
MILESTONE_DUE_REMINDERS = durations_parse(
    env.str("MILESTONE_DUE_REMINDERS", default="48h,24h"), name="MILESTONE_DUE_REMINDERS", count=2
)
# How often beat sweeps for auto-releases and review reminders, and for due-date reminders.
MILESTONE_RELEASE_SWEEP_EVERY = duration_parse(
    env.str("MILESTONE_RELEASE_SWEEP_EVERY", default="5m"), name="MILESTONE_RELEASE_SWEEP_EVERY"
)
MILESTONE_DUE_SWEEP_EVERY = duration_parse(
    env.str("MILESTONE_DUE_SWEEP_EVERY", default="15m"), name="MILESTONE_DUE_SWEEP_EVERY"
)
# Each deliverable file: at most this many bytes, and only these extensions (lower case, no dot).
DELIVERABLE_MAX_BYTES = env.int("DELIVERABLE_MAX_BYTES", default=25 * 1024 * 1024)
# All the files of one submission together (checked while the upload streams in).
DELIVERABLE_MAX_REQUEST_BYTES = env.int("DELIVERABLE_MAX_REQUEST_BYTES", default=100 * 1024 * 1024)
DELIVERABLE_ALLOWED_EXTENSIONS = env.list(
    "DELIVERABLE_ALLOWED_EXTENSIONS",
    default=[
        "pdf", "txt", "md", "csv", "json", "png", "jpg", "jpeg", "gif", "webp", "svg",
        "zip", "tar", "gz", "docx", "xlsx", "pptx", "odt", "ods", "odp", "fig", "sketch", "psd", "mp4", "mp3",
    ],
)  # fmt: skip

# --- Offers and disputes ------------------------------------------------------------
# How long an offer to divide a milestone's escrow stays open before it expires.
OFFER_EXPIRY_PERIOD = duration_parse(env.str("OFFER_EXPIRY_PERIOD", default="7d"), name="OFFER_EXPIRY_PERIOD")
# How long the other party has to answer a dispute before it goes to arbitration, marked "no response".
DISPUTE_RESPOND_PERIOD = duration_parse(env.str("DISPUTE_RESPOND_PERIOD", default="5d"), name="DISPUTE_RESPOND_PERIOD")
# An arbitrator's decision on a milestone above this amount (minor units, 500,000 = $5,000.00) waits for a
# second, different arbitrator's approval before any money moves.
DISPUTE_SECOND_APPROVAL_ABOVE_MINOR = env.int("DISPUTE_SECOND_APPROVAL_ABOVE_MINOR", default=500_000)

# --- Celery --------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # Server-less development broker: in and out must be the same folder.
    _celery_dir = VAR_DIR / "celery"
    for _sub in ("queue", "control", "processed"):
        (_celery_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_dir / "queue"),
        "data_folder_out": str(_celery_dir / "queue"),
        "control_folder": str(_celery_dir / "control"),
        "processed_folder": str(_celery_dir / "processed"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # every task is idempotent, so redelivery after a crash is safe
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=90)
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Deadlines are stored on rows and swept by beat; no long ETA tasks (README: Timers).
CELERY_BEAT_SCHEDULE = {
    "sessions-clear-expired": {
        "task": "users.tasks.sessions_clear_expired",
        "schedule": crontab(minute=17, hour=3),
    },
    # Milestone timers (README: Timers): auto-release and review reminders every 5 minutes, due dates every 15.
    "milestones-auto-release-due": {
        "task": "milestones.tasks.milestones_auto_release_due",
        "schedule": MILESTONE_RELEASE_SWEEP_EVERY,
    },
    "milestones-review-reminders": {
        "task": "milestones.tasks.milestones_review_reminders_send",
        "schedule": MILESTONE_RELEASE_SWEEP_EVERY,
    },
    "milestones-due-reminders": {
        "task": "milestones.tasks.milestones_due_reminders_send",
        "schedule": MILESTONE_DUE_SWEEP_EVERY,
    },
    # Dispute timers (README: Timers): unanswered cases to arbitration, offer expiry; every 15 minutes.
    "disputes-unanswered-escalate": {
        "task": "disputes.tasks.disputes_unanswered_escalate",
        "schedule": crontab(minute="5-59/15"),
    },
    "disputes-offers-expire": {
        "task": "disputes.tasks.offers_expire_due",
        "schedule": crontab(minute="9-59/15"),
    },
    # Daily digest of non-money notices for users who chose it (notifications.delivery).
    "notifications-digest-send": {
        "task": "notifications.tasks.notifications_digest_send",
        "schedule": crontab(minute=0, hour=8),
    },
}

# --- Payments ------------------------------------------------------------------------
# Platform fee on each release, in basis points (1000 = 10 %); rounded down, see payments/fees.py.
PLATFORM_FEE_BPS = env.int("PLATFORM_FEE_BPS", default=1000)
# How long a released payment stays pending before the freelancer can withdraw it, and how often beat
# sweeps for earnings whose hold has passed.
EARNINGS_HOLD_PERIOD = duration_parse(env.str("EARNINGS_HOLD_PERIOD", default="5d"), name="EARNINGS_HOLD_PERIOD")
EARNINGS_SWEEP_EVERY = duration_parse(env.str("EARNINGS_SWEEP_EVERY", default="1h"), name="EARNINGS_SWEEP_EVERY")
# Dotted path to the payment gateway class; the default is the built-in test-card gateway.
PAYMENT_GATEWAY = env.str("PAYMENT_GATEWAY", default="payments.gateway.DemoCardGateway")
# Largest single "add funds" and withdrawal, in minor units (1,000,000 = 10,000.00).
MAX_DEPOSIT_MINOR = env.int("MAX_DEPOSIT_MINOR", default=1_000_000)
MAX_PAYOUT_MINOR = env.int("MAX_PAYOUT_MINOR", default=10_000_000)
# Keys the ledger's tamper-evident HMAC chain; it must never be stored in the database. Production
# must set it (the system check ledger.E001 refuses to run without it); changing it makes every
# existing chain fail `ledger_verify`. Local runs derive one from SECRET_KEY.
LEDGER_CHAIN_KEY = env.str("LEDGER_CHAIN_KEY", default="") or (
    "" if IS_PRODUCTION else hashlib.sha256(f"milestone-ledger-chain|{SECRET_KEY}".encode()).hexdigest()
)
CELERY_BEAT_SCHEDULE["payments-earnings-mature-due"] = {
    "task": "payments.tasks.earnings_mature_due_task",
    "schedule": EARNINGS_SWEEP_EVERY,
}

# --- Reputation ----------------------------------------------------------------------
# How long after a contract ends each party may leave feedback; then what was left is published.
FEEDBACK_WINDOW_PERIOD = duration_parse(env.str("FEEDBACK_WINDOW_PERIOD", default="14d"), name="FEEDBACK_WINDOW_PERIOD")
# "Would work with them again" is shown only as a share, and only once this many answers exist,
# so no single contract's private answer can be read off a profile.
FEEDBACK_PRIVATE_MIN_ANSWERS = env.int("FEEDBACK_PRIVATE_MIN_ANSWERS", default=3)
CELERY_BEAT_SCHEDULE["reputation-feedback-windows-close"] = {
    "task": "reputation.tasks.feedback_windows_close_due",
    "schedule": crontab(minute="9-59/15"),
}

# --- Security ------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if IS_PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
