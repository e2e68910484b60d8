"""The one settings module. Everything that differs between machines comes from the
environment (django-environ), parsed once here; README.md and .env.example list every
variable.

With nothing set, a development checkout runs on SQLite, runs Celery tasks in-process and
bills in "demo" mode (no Stripe keys). Production is DEBUG off: then SECRET_KEY and
ALLOWED_HOSTS have no default and a missing one stops the process at start-up.
"""

import importlib.util
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A developer's .env (written by `make run`) fills what the real environment leaves unset;
# the real environment always wins. Tests switch the file off to stay hermetic.
if env.bool("READ_DOT_ENV_FILE", default=True) and (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"))

DEBUG = env.bool("DEBUG", default=False)

if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="")
    if not SECRET_KEY:
        # Imported only on this branch: settings import as little as they can.
        from django.core.management.utils import get_random_secret_key

        # A throwaway key: sessions do not survive a restart, which is fine on a laptop
        # and impossible to ship by accident, because production has no default at all.
        SECRET_KEY = get_random_secret_key()
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
else:
    try:
        SECRET_KEY = env.str("SECRET_KEY")
        ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
    except ImproperlyConfigured as exc:
        raise ImproperlyConfigured(
            f"{exc}. With DEBUG off (production) SECRET_KEY and ALLOWED_HOSTS must be set."
        ) from None
    if len(SECRET_KEY) < 32:
        raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long.")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must name at least one host.")

CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# `make run` / `make serve` set it from their HOST and PORT unless it is set (Makefile).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sites",
    "allauth",
    "allauth.account",
    "django_celery_beat",
    "csp",
    "core",
    "accounts",
    "subscriptions",
    "charities",
    "needs",
    "distributions",
    "reports",
    "payouts",
    "portfolio",
    "web",
    "config",
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
    "csp.middleware.CSPMiddleware",
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
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.site",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Persistent connections in production: opening a PostgreSQL connection (TCP, auth, a
# backend process) costs more than a whole webhook's queries, so each worker keeps its
# connection for a minute. The health check (one cheap round trip when a request first
# uses a kept connection) replaces one the database closed (restart, failover, idle
# timeout) instead of failing that request. DEBUG keeps one per request, so the dev
# server and runserver's reloads never hold connections open. README "Database connections".
DATABASES["default"].setdefault(
    "CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0 if DEBUG else 60)
)
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", env.bool("CONN_HEALTH_CHECKS", default=True))
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Prepared statements for the few hot reads that ask for them (core.db.prepared_raw:
    # the dashboard's state, the webhook's lookups): PostgreSQL plans such a statement
    # once per connection instead of on every request. Django's own queries are never
    # prepared (they bind on the client). A pooler in transaction mode that cannot keep
    # prepared statements (PgBouncer before 1.21, or without max_prepared_statements)
    # needs DB_PREPARED_STATEMENTS=0. README "Database connections".
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "prepare_threshold", 5 if env.bool("DB_PREPARED_STATEMENTS", default=True) else None
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A busy timeout lets the dev server and a management command share the file.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("timeout", 20)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Django's and allauth's, reading the session's user with one prepared statement.
    "accounts.backends.ModelBackend",
    "accounts.backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/dashboard/"
LOGOUT_REDIRECT_URL = "/"

# allauth: email is the only login; verification is mandatory in production.
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = env.str(
    "ACCOUNT_EMAIL_VERIFICATION", default="optional" if DEBUG else "mandatory"
)
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Hometown Fund] "
# allauth's rate limits are on by default; they are stated here so they are visible.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "confirm_email": "1/3m/key",
}

LANGUAGE_CODE = "en-us"
# The site's words for allauth's English ("Log in", not "Sign In"): locale/en/.
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="America/New_York")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Leaflet itself comes from the django-leaflet package's static files. The package is not
# an installed app: its admin module and form widget import GeoDjango, which needs the GDAL
# system library, and this project keeps coordinates as two plain columns so that
# `make run` needs nothing but Python (charities.widgets draws the map picker instead).
_LEAFLET_STATIC = Path(importlib.util.find_spec("leaflet").origin).parent / "static"
STATICFILES_DIRS = [BASE_DIR / "static", _LEAFLET_STATIC]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Production serves hashed, compressed files after `collectstatic`; a checkout
        # (and the test suite, which sets STATIC_MANIFEST=0) serves files as they are.
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env.bool("STATIC_MANIFEST", default=not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Uploaded files (charity logos, re-encoded by charities.images) go through default_storage:
# files under MEDIA_ROOT. With DEBUG, config/urls.py serves them; in production the web
# server (or a storage backend set in STORAGES["default"]) must serve MEDIA_URL.
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# Tests and `runserver` without collectstatic still find files through the finders.
WHITENOISE_USE_FINDERS = True
WHITENOISE_MANIFEST_STRICT = False

# EMAIL_URL picks how email leaves (smtp+tls://..., consolemail:// to print each one).
# Unset, a laptop (DEBUG) writes every email to a file under sent-emails/ (gitignored):
# the demo's weekly reports are some 200 emails a week, too many for a terminal, and a
# sign-up's confirmation link is still there to open. Unset in production: the console.
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
elif DEBUG:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(BASE_DIR / "sent-emails")
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Hometown Fund <hello@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Staff who get the daily digest of failed Stripe events (and Django's error mails):
# comma-separated addresses. Unset: no digest is sent (the admin still lists them).
ADMINS = [("Hometown Fund admin", a) for a in env.list("ADMINS", default=[]) if a.strip()]

# Celery. With no broker, tasks run in-process (eagerly) so a laptop needs no Redis.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL or None)
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Weekly engine (portfolio, distributions, reports): with acks_late, a message taken by a
# worker that dies (SIGKILL, OOM, lost machine) goes back to the queue once it has been
# unacknowledged this long (Redis). Longer than any one task; tasks are safe to redo.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}

# Stripe. No secret key means demo billing: subscribing records local contributions.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
# Several secrets may be given, comma-separated, while an endpoint secret is rolled
# (subscriptions.webhooks.webhook_secrets); any of them verifies a delivery.
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com")
if STRIPE_SECRET_KEY and not STRIPE_WEBHOOK_SECRET:
    raise ImproperlyConfigured(
        "STRIPE_WEBHOOK_SECRET must be set when STRIPE_SECRET_KEY is: without it no "
        "payment could ever be verified."
    )
# Demo billing: no Stripe; subscribing and the weekly run record local contributions of
# money nobody paid. On by default with DEBUG (a laptop, `make run`); in production it
# must be asked for by name, so a deploy that lost its Stripe key refuses to start
# instead of quietly "collecting" and distributing money that was never paid.
DEMO_BILLING = env.bool("DEMO_BILLING", default=DEBUG and not STRIPE_SECRET_KEY)
if DEMO_BILLING and STRIPE_SECRET_KEY:
    raise ImproperlyConfigured(
        "DEMO_BILLING=1 and STRIPE_SECRET_KEY are both set: choose Stripe or demo billing."
    )
if not DEMO_BILLING and not STRIPE_SECRET_KEY:
    raise ImproperlyConfigured(
        "STRIPE_SECRET_KEY is not set: set it (and STRIPE_WEBHOOK_SECRET) to take payments, "
        "or set DEMO_BILLING=1 for a demo site where no money moves."
    )

# Covering the fees (subscriptions.fees): the published card rate that sizes the charge of
# a donor who adds the fee to a gift. Only an estimate: the ledger records the fee Stripe
# reports for each payment. Default: Stripe's US card rate, 2.9% + 30c. The percentage is
# text parsed with Decimal into whole basis points (at most two decimals), never a float.
CARD_FEE_PERCENT = env.str("CARD_FEE_PERCENT", default="2.9").strip()
CARD_FEE_FIXED_CENTS = env.int("CARD_FEE_FIXED_CENTS", default=30)
try:
    _card_fee_basis_points = Decimal(CARD_FEE_PERCENT) * 100
except InvalidOperation:
    _card_fee_basis_points = Decimal("NaN")
if not (
    _card_fee_basis_points.is_finite()
    and _card_fee_basis_points == _card_fee_basis_points.to_integral_value()
    and 0 <= _card_fee_basis_points <= 2000
):
    raise ImproperlyConfigured(
        f"CARD_FEE_PERCENT must be a percentage from 0 to 20 with at most two decimals, "
        f"like 2.9; got {CARD_FEE_PERCENT!r}."
    )
if not 0 <= CARD_FEE_FIXED_CENTS <= 1000:
    raise ImproperlyConfigured("CARD_FEE_FIXED_CENTS must be whole cents from 0 to 1000.")
# Checkout also offers US bank debit (ACH Direct Debit: 0.8%, at most $5.00) beside cards.
STRIPE_OFFER_BANK_DEBIT = env.bool("STRIPE_OFFER_BANK_DEBIT", default=False)

# Geocoding (geopy's Nominatim by default; tests point it at 127.0.0.1).
GEOCODER_DOMAIN = env.str("GEOCODER_DOMAIN", default="nominatim.openstreetmap.org")
GEOCODER_SCHEME = env.str("GEOCODER_SCHEME", default="https")
GEOCODER_USER_AGENT = env.str("GEOCODER_USER_AGENT", default="hometown-fund/1.0")
GEOCODER_TIMEOUT = env.float("GEOCODER_TIMEOUT", default=10.0)
# needs/charities geocoding (issue 6): any geopy service name taking domain/scheme/
# user_agent; the delay is Nominatim's one request per second (tests set 0); answers
# farther than GEOCODER_MAX_KM_FROM_ZIP from the ZIP centroid are another place.
GEOCODER_PROVIDER = env.str("GEOCODER_PROVIDER", default="nominatim")
GEOCODER_MIN_DELAY_SECONDS = env.float("GEOCODER_MIN_DELAY_SECONDS", default=1.0)
GEOCODER_MAX_KM_FROM_ZIP = env.float("GEOCODER_MAX_KM_FROM_ZIP", default=50.0)
GEOCODER_MAX_CONSECUTIVE_ERRORS = 3
if GEOCODER_MIN_DELAY_SECONDS < 0:
    raise ImproperlyConfigured("GEOCODER_MIN_DELAY_SECONDS must not be negative.")

# Weekly engine: a city's rows are worked out, given their sentences and written this many
# subscriptions at a time (portfolio.services, allocation.StreamedSplit), so a city's size
# never sets the run's memory, and its first rows are being written while the rest are
# worked out (a block is a few of the COPY's writes). The rows are the same
# whatever the size.
DISTRIBUTION_CHUNK_DONORS = env.int("DISTRIBUTION_CHUNK_DONORS", default=100)
if DISTRIBUTION_CHUNK_DONORS < 1:
    raise ImproperlyConfigured("DISTRIBUTION_CHUNK_DONORS must be a positive number.")

# Needs data.
NEEDS_MAX_AGE_DAYS = env.int("NEEDS_MAX_AGE_DAYS", default=30)
if NEEDS_MAX_AGE_DAYS < 1:
    raise ImproperlyConfigured("NEEDS_MAX_AGE_DAYS must be a positive number of days.")
NEEDS_FEED_TIMEOUT = env.float("NEEDS_FEED_TIMEOUT", default=10.0)
NEEDS_FEED_MAX_BYTES = env.int("NEEDS_FEED_MAX_BYTES", default=1_000_000)
NEEDS_FEEDS_ALLOW_PRIVATE = env.bool("NEEDS_FEEDS_ALLOW_PRIVATE", default=False)

# Payouts (payouts.services.run_payouts): a charity owed less than this is not paid this
# month; its balance carries forward to the next run.
PAYOUT_MINIMUM_CENTS = env.int("PAYOUT_MINIMUM_CENTS", default=1000)
if PAYOUT_MINIMUM_CENTS < 1:
    raise ImproperlyConfigured("PAYOUT_MINIMUM_CENTS must be a positive number of cents.")

# Manage links (subscriptions.links): the signed link in every email about a gift opens
# its management page without a password for this many days after the email was sent.
MANAGE_LINK_MAX_AGE_DAYS = env.int("MANAGE_LINK_MAX_AGE_DAYS", default=60)
if not 1 <= MANAGE_LINK_MAX_AGE_DAYS <= 366:
    raise ImproperlyConfigured(
        "MANAGE_LINK_MAX_AGE_DAYS must be a whole number of days, 1 to 366."
    )

# /health/ tells anonymous callers only whether the site is healthy; the components and
# their details (database vendor, broker, last run) go to staff and to a monitor that
# sends this token in the X-Health-Token header. Unset: staff only.
HEALTH_TOKEN = env.str("HEALTH_TOKEN", default="")
if HEALTH_TOKEN and len(HEALTH_TOKEN) < 32:
    raise ImproperlyConfigured("HEALTH_TOKEN must be at least 32 characters long.")

# Explanations (portfolio.explain): "template" (deterministic), "openai" (or "model": any
# OpenAI-compatible chat-completions server, portfolio.explain_chat) or a dotted path to a
# backend. The model is asked once per week, place and charity; the template stands in
# for any answer it refuses, after EXPLAINER_TIMEOUT seconds, and for the rest of a run
# once the model timed out or failed; a place asks for at most EXPLAINER_BUDGET seconds.
EXPLAINER = env.str("EXPLAINER", default="template").strip()
EXPLAINER_BASE_URL = env.str("EXPLAINER_BASE_URL", default="https://api.openai.com/v1").strip()
EXPLAINER_MODEL = env.str("EXPLAINER_MODEL", default="").strip()
EXPLAINER_API_KEY = env.str("EXPLAINER_API_KEY", default="")
EXPLAINER_TIMEOUT = env.float("EXPLAINER_TIMEOUT", default=5.0)
EXPLAINER_BUDGET = env.float("EXPLAINER_BUDGET", default=60.0)
if not (EXPLAINER_TIMEOUT > 0 and EXPLAINER_BUDGET > 0):
    raise ImproperlyConfigured("EXPLAINER_TIMEOUT and EXPLAINER_BUDGET must be positive seconds.")
if EXPLAINER.lower() in ("openai", "model"):
    if not re.match(r"https?://[^/\s]+", EXPLAINER_BASE_URL):
        raise ImproperlyConfigured(
            f"EXPLAINER_BASE_URL must be an http(s) URL such as https://api.openai.com/v1; "
            f"got {EXPLAINER_BASE_URL!r}."
        )
    if not EXPLAINER_MODEL:
        raise ImproperlyConfigured(
            f"EXPLAINER={EXPLAINER} needs EXPLAINER_MODEL (e.g. gpt-4o-mini)."
        )
elif EXPLAINER not in ("", "template") and not re.fullmatch(r"[\w.]+\.\w+", EXPLAINER):
    raise ImproperlyConfigured(
        f"EXPLAINER must be template, openai or a dotted path to a backend; got {EXPLAINER!r}."
    )

# Maps: Leaflet's assets are served from this site; only tiles come from a tile server.
MAP_TILES_URL = env.str("MAP_TILES_URL", default="https://tile.openstreetmap.org/{z}/{x}/{y}.png")
MAP_TILES_ATTRIBUTION = env.str("MAP_TILES_ATTRIBUTION", default="© OpenStreetMap contributors")

# Reverse proxies. Behind a TLS proxy every request comes from the proxy's address, so
# the client's address must be read from a header the proxy sets, and only from one we
# trust: either the number of proxies that append to X-Forwarded-For (the client is the
# entry that many places from the right; anything further left is the client's own
# claim), or one header the nearest proxy overwrites (X-Real-IP, CF-Connecting-IP). With
# neither set (the default) no forwarding header is believed: not for the login rate
# limits (allauth reads these two settings) and not for X-Forwarded-Proto, which would
# otherwise let any client that reaches gunicorn directly claim https.
try:
    TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
except ValueError:
    TRUSTED_PROXY_COUNT = -1
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be a whole number: 0 (no proxy) or more.")
TRUSTED_CLIENT_IP_HEADER = env.str("TRUSTED_CLIENT_IP_HEADER", default="").strip()
if TRUSTED_CLIENT_IP_HEADER and not re.fullmatch(r"[A-Za-z0-9-]+", TRUSTED_CLIENT_IP_HEADER):
    raise ImproperlyConfigured(
        f"TRUSTED_CLIENT_IP_HEADER must be a header name like X-Real-IP; "
        f"got {TRUSTED_CLIENT_IP_HEADER!r}."
    )
BEHIND_TRUSTED_PROXY = bool(TRUSTED_PROXY_COUNT or TRUSTED_CLIENT_IP_HEADER)
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
ALLAUTH_TRUSTED_CLIENT_IP_HEADER = TRUSTED_CLIENT_IP_HEADER or None

# Security headers. Production values are the defaults; DEBUG relaxes only what would
# stop a laptop on plain http.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TRUSTED_PROXY else None
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
# Sessions live in the database and are read through the cache: no session query on a hit.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
X_FRAME_OPTIONS = "DENY"

_tile_origin = "/".join(MAP_TILES_URL.split("/")[:3]).replace("{s}.", "")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", _tile_origin],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'", "https://checkout.stripe.com", "https://billing.stripe.com"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
