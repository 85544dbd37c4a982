"""Settings of Espace Partenaires.

One file; every value comes from the environment (django-environ) with a default that is safe for
a developer's machine: SQLite, Celery on a local folder, e-mails to the console and to files.
Production values are documented in `.env.example`.
"""

import hashlib
import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ
from django.utils.csp import CSP

from core import logs

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Core -----------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)
# Signs the sessions, the password-reset links and the anti-robot challenges: a known key lets
# anyone forge them. Only a development run (DEBUG=true, `make run`) starts without one.
SECRET_KEY = env.str("SECRET_KEY", default="")
if SECRET_KEY in ("", "change-me"):
    if not DEBUG:
        raise environ.ImproperlyConfigured(
            "SECRET_KEY manquant : le portail ne démarre pas sans clé secrète (DEBUG=false). "
            "Renseignez SECRET_KEY avec une valeur longue et aléatoire, par exemple : "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'."
        )
    SECRET_KEY = "django-insecure-local-only-never-in-production"  # noqa: S105 (DEBUG=true only)
# Rotation of the key (docs/operations.md): the previous keys, comma-separated, still accepted
# to check what they signed (sessions, reset links) while new signatures use SECRET_KEY.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The port `make run` serves on (PORT=8101 make run); a development run's e-mail links follow it.
PORT = env.int("PORT", default=8000)
# Absolute address of the portal, used to build the links of e-mails.
SITE_URL = env.str("SITE_URL", default=f"http://127.0.0.1:{PORT}").rstrip("/")

INSTALLED_APPS = [
    # Django's admin, on a site that asks agents and superusers for their second factor.
    "accounts.apps.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "anymail",
    "axes",
    # Second factor of agents de caisse and superusers (SPEC §10): authenticator apps (TOTP),
    # recovery codes (static), passkeys (WebAuthn).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    "altcha_django",
    # django-health-check: the page of /healthz and its `health_check` command.
    "health_check",
    # Shared helpers, and the history of every change people make in the admin (core.history).
    "core",
    "organismes",
    "conventions",
    "accounts",
    "demandes",
    "notifications",
    "audit",
    "inscriptions",
    # The project itself, on top of the apps: its commands span them all (seed_demo).
    "espace_partenaires",
]

MIDDLEWARE = [
    # First: every request has its id (X-Request-ID) on its log lines and its completion line.
    "core.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session gave its second factor.
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "core.middleware.PrivatePagesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "accounts.middleware.AccountPolicyMiddleware",
    # Last, as django-axes requires: it turns a lockout into the French lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "espace_partenaires.urls"
WSGI_APPLICATION = "espace_partenaires.wsgi.application"

# The portal's pages are Jinja2 templates (jinja2/, core/jinja.py: the same HTML at a fraction of
# the CPU, docs/performance.md); the admin, the e-mails and the forms' fallbacks stay Django
# templates (templates/). No name is in both trees but the admin's three partials, which only
# Django templates include. The Django engine is first so that pytest-django's check of
# undefined variables (FAIL_INVALID_TEMPLATE_VARS, on the first engine) still covers the admin;
# TEMPLATES_STRICT does it for the pages.
TEMPLATES_STRICT = False  # an undefined variable is an error (the tests), else printed empty
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
                "django.template.context_processors.csp",
                "accounts.context_processors.portal",
            ],
        },
    },
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {
            "environment": "core.jinja.environment",
            "context_processors": [
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "accounts.context_processors.portal",
            ],
        },
    },
]

# Form widgets are rendered with Django's own Jinja2 copies of its widget templates (the same
# HTML, several times faster), as the pages are.
FORM_RENDERER = "core.renderers.FormRenderer"

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
# Persistent connections (a new one per request costs a round trip and PostgreSQL's fork), checked
# before their first use in each request: a connection the server dropped (restart, terminated
# backend, failover) is replaced, not turned into an error page.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
# Behind PgBouncer in transaction pooling (docs/scaling.md), a server-side cursor (QuerySet
# .iterator(): the access log's CSV export) stays on the server connection of its first fetch,
# which the pool may hand to another client before the next fetch: true fetches client-side.
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool(
    "DISABLE_SERVER_SIDE_CURSORS", default=False
)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Take the write lock when a transaction starts, so that the quota checks made under
    # select_for_update (a no-op on SQLite) are serialised here too; wait for it rather than fail.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
    # A file, not memory, for the tests: the concurrency tests use several connections. One per
    # process, so that two test runs on the same checkout do not delete each other's.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------------
# Holds the per-address counters of the rate limits (log-in, forgotten password, public forms)
# and the anti-robot challenges already used. In production every web process of every node must
# share it (Redis): a per-process memory would multiply the limits by the number of gunicorn
# workers and nodes, and accept a used challenge again on another one. Without CACHE_URL, a
# REDIS_URL gives it: the same server, the next database number (redis://redis:6379/0 → …/1; the
# broker's own database is never the cache's, which cache.clear() empties). Without either,
# per-process memory, for `make run`; `check --deploy` warns (inscriptions.W001).
REDIS_URL = env.str("REDIS_URL", default="")


def _next_redis_database(url: str) -> str:
    parts = urlsplit(url)
    database = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{database + 1}"))


CACHES = {
    "default": env.cache(
        "CACHE_URL", default=_next_redis_database(REDIS_URL) if REDIS_URL else "locmemcache://"
    )
}

# --- Accounts and authentication ------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First, as django-axes requires: refuses any attempt on a locked identifier.
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.AccountBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        # Our User has none of Django's default attributes but the e-mail.
        "OPTIONS": {
            "user_attributes": ("identifiant", "prenom", "nom_patronymique", "nom_usuel", "email")
        },
    },
    # The first and last names run together, which Django's validator compares one by one.
    {"NAME": "accounts.password_validation.PersonNameSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Hours during which the "Créer mon mot de passe" link of an invitation stays valid.
INVITATION_TIMEOUT_HOURS = env.int("INVITATION_TIMEOUT_HOURS", default=72)
# Same lifetime for the "Mot de passe oublié" links, in seconds as Django counts it.
PASSWORD_RESET_TIMEOUT = INVITATION_TIMEOUT_HOURS * 3600
# Days after which a password must be changed; the change form then comes before any page.
PASSWORD_MAX_AGE_DAYS = env.int("PASSWORD_MAX_AGE_DAYS", default=365)

# Lockout (SPEC §10, django-axes): after LOGIN_FAILURE_LIMIT failures, the identifier itself is
# locked during LOGIN_LOCKOUT_MINUTES, from any address (a failure during the lock restarts the
# count-down). Separately, LOGIN_CLIENT_RATE failed log-ins per client address, whatever the
# identifiers, refuse that address until the end of the period, locking no identifier: high
# enough for an office behind one address, low enough to slow a guesser of many accounts.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = ["username"]
LOGIN_CLIENT_RATE = env.str("LOGIN_CLIENT_RATE", default="50/h")
# Locks by identifier and limits each address; counts the failed codes of the second factor
# too, and takes only the second factor as the success that clears the failures of those who
# must give one (accounts.second_factor).
AXES_HANDLER = "accounts.security.LoginAttempts"
AXES_USERNAME_CALLABLE = "accounts.security.axes_username"
AXES_LOCKOUT_CALLABLE = "accounts.security.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # failures are kept (to lock); successful log-ins are not
AXES_SENSITIVE_PARAMETERS = ["password", "code"]
# Number of reverse proxies in front of the portal, each appending to X-Forwarded-For: the
# client is the TRUSTED_PROXY_COUNT-th address from the right. 0 (the default): REMOTE_ADDR is
# the client and the header, which anyone can write, is ignored. docker-compose.yml sets 1 for
# its web service, whose only way in is its Caddy proxy.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "core.limits.client_ip"

# Second factor (SPEC §10): the name authenticator apps and passkey dialogs show.
OTP_ISSUER_NAME = env.str("OTP_ISSUER_NAME", default="Espace Partenaires")
OTP_TOTP_ISSUER = OTP_ISSUER_NAME
OTP_WEBAUTHN_RP_NAME = OTP_ISSUER_NAME
# The passkeys' relying party is the portal's host as the browser reaches it (ALLOWED_HOSTS
# vouches for it): accounts.second_factor.PasskeyHelper. A passkey is bound to that domain.
OTP_WEBAUTHN_RP_ID_CALLABLE = "accounts.second_factor.relying_party_id"
OTP_WEBAUTHN_HELPER_CLASS = "accounts.second_factor.PasskeyHelper"
# A passkey is a second factor after the password, never a log-in on its own: the lockout and
# the password policy stay on the identifier.
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
# No throttle of django-otp's own (a delay doubling after each wrong code, during which a right
# code is refused too): the second factor's failures are counted by django-axes with the wrong
# passwords, five lock the identifier (SPEC §10); a second, hidden rule refused right codes
# typed quickly after a mistake and counted them as failures.
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0
# Number of single-use recovery codes given at enrolment.
OTP_RECOVERY_CODES = env.int("OTP_RECOVERY_CODES", default=10)

SESSION_COOKIE_AGE = env.int("SESSION_IDLE_TIMEOUT_MINUTES", default=30) * 60
SESSION_SAVE_EVERY_REQUEST = True  # the age above counts from the last request: an idle timeout
# In the database, the expiry written again at most once a minute (accounts/sessions.py).
SESSION_ENGINE = "accounts.sessions"
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Security -------------------------------------------------------------------------------
# Served over TLS: secure cookies, redirect, HSTS. The default with DEBUG=false (production);
# HTTPS=false relaxes it explicitly, for a plain-HTTP test bench only.
HTTPS = env.bool("HTTPS", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=HTTPS)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=HTTPS)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=HTTPS)
if env.bool("BEHIND_TLS_PROXY", default=False):
    # The reverse proxy terminates TLS and says so in this header.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The load balancer probes each web node in plain HTTP, without the proxy's X-Forwarded-Proto: its
# /healthz must answer, not redirect (it sets no cookie and holds nothing personal).
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_COOKIE_HTTPONLY = True
# Content-Security-Policy: only the portal's own files; a script needs the request's nonce.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}

# --- Internationalisation: French only ------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

# --- Portal ---------------------------------------------------------------------------------
# The user manual linked from the top bar; the fund may host its own version.
USER_MANUAL_URL = env.str("USER_MANUAL_URL", default="/aide/")

# The legal pages (issue 17, item 4): who publishes the portal and who hosts it (mentions
# légales), whom to write about personal data (the DPO of the fund) and about accessibility. The
# defaults describe the demonstration; a fund sets its own in production (.env.example).
LEGAL_PUBLISHER = env.str(
    "LEGAL_PUBLISHER", default="Organisme d'assurance maladie de démonstration"
)
LEGAL_PUBLISHER_ADDRESS = env.str(
    "LEGAL_PUBLISHER_ADDRESS", default="1 place de la Démonstration, 75000 Paris"
)
LEGAL_PUBLISHER_PHONE = env.str("LEGAL_PUBLISHER_PHONE", default="01.00.00.00.00")
LEGAL_DIRECTOR = env.str("LEGAL_DIRECTOR", default="Le directeur de l'organisme de démonstration")
LEGAL_HOST = env.str("LEGAL_HOST", default="Hébergeur de démonstration")
LEGAL_HOST_ADDRESS = env.str("LEGAL_HOST_ADDRESS", default="2 rue de la Démonstration, 75000 Paris")
LEGAL_HOST_PHONE = env.str("LEGAL_HOST_PHONE", default="01.00.00.00.01")
DPO_CONTACT_EMAIL = env.str("DPO_CONTACT_EMAIL", default="dpo@espace-partenaires.example")
ACCESSIBILITY_CONTACT_EMAIL = env.str(
    "ACCESSIBILITY_CONTACT_EMAIL", default="accessibilite@espace-partenaires.example"
)

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise expects it, even before collectstatic
# Files served at the site's root by whitenoise, before any view: the browsers' /favicon.ico
# (the header's mark, static-root/), which would otherwise be a 404 page and a warning per visit.
WHITENOISE_ROOT = BASE_DIR / "static-root"
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(VAR_DIR / "media"))
# Attachments of demandes: never served directly (no MEDIA_URL route), only through the
# permission-checked download view. ATTACHMENTS_STORAGE=s3 shares them between web hosts
# (docs/scaling.md): the view still reads them and streams them itself, after its scoping check;
# no URL of the bucket ever reaches a browser, and the bucket stays private.
if env.str("ATTACHMENTS_STORAGE", default="local") == "s3":
    _s3_endpoint = env.str("S3_ENDPOINT_URL", default=None)
    _attachments = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("S3_BUCKET"),
            "endpoint_url": _s3_endpoint,
            # An S3-compatible server's bucket by path (http://storage:8333/bucket/key): a
            # bucket.storage host name exists in no DNS. AWS's own endpoint: boto3's choice.
            "addressing_style": env.str(
                "S3_ADDRESSING_STYLE", default="path" if _s3_endpoint else None
            ),
            "region_name": env.str("S3_REGION", default=None),
            "access_key": env.str("S3_ACCESS_KEY"),
            "secret_key": env.str("S3_SECRET_KEY"),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    _attachments = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(Path(MEDIA_ROOT) / "pieces-jointes"), "base_url": None},
    }
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "attachments": _attachments,
    "staticfiles": {
        # Hashed, compressed files in production (after collectstatic); plain files otherwise.
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env.bool("STATIC_MANIFEST", default=False)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        ),
    },
}

# --- Pré-inscription and contact (public forms) ---------------------------------------------
# Submissions accepted per client address (core.limits.client_key): "count/period", the
# period being s, m, h or d. Refused beyond it with a French 429 page.
PREINSCRIPTION_RATE = env.str("PREINSCRIPTION_RATE", default="10/h")
CONTACT_RATE = env.str("CONTACT_RATE", default="5/h")
# "Mot de passe oublié" and "Identifiant oublié" (SPEC §10): requests per client address and
# per address typed; and minutes during which an account gets at most one such e-mail, whoever
# asks. Beyond a limit the answer is the same, and nothing is sent.
FORGOTTEN_CLIENT_RATE = env.str("FORGOTTEN_CLIENT_RATE", default="20/h")
FORGOTTEN_ADDRESS_RATE = env.str("FORGOTTEN_ADDRESS_RATE", default="3/h")
FORGOTTEN_ACCOUNT_MINUTES = env.int("FORGOTTEN_ACCOUNT_MINUTES", default=15)
# Anti-robot check: ALTCHA proof of work (altcha-django), self-hosted, without any third party.
# The key signs the challenges; by default derived from SECRET_KEY.
ALTCHA_HMAC_SECRET = env.str("ALTCHA_HMAC_KEY", default="") or (
    hashlib.sha256(f"altcha:{SECRET_KEY}".encode()).hexdigest()
)
# Challenges are fetched by the widget from /altcha/challenge/ when the person ticks the box, so
# that a long form does not outlive its challenge; each solution is accepted once (cache above).
ALTCHA_WIDGET_CHALLENGE_MODE = "endpoint"
ALTCHA_WIDGET_I18N = True  # the widget's own French strings
ALTCHA_CHALLENGE = {
    "expires_seconds": env.int("ALTCHA_CHALLENGE_EXPIRES_SECONDS", default=600),
}
# altcha.W001 (replay protection in a per-process cache) is replaced by inscriptions.W001, which
# is a deploy check: locmem is right for `make run` and the tests, wrong in production.
SILENCED_SYSTEM_CHECKS = [
    "altcha.W001",
    # django-axes warns when its lock is not per address (W006): here the identifier is locked
    # from any address on purpose (SPEC §10), and each address has its own limit
    # (LOGIN_CLIENT_RATE, accounts.security.LoginAttempts), which the warning cannot see.
    "axes.W006",
    # django-otp-webauthn wants OTP_WEBAUTHN_ALLOWED_ORIGINS fixed; the origin is the host the
    # browser reached, which ALLOWED_HOSTS vouches for (accounts.second_factor.PasskeyHelper).
    "otp_webauthn.E030",
]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The covering indexes of the demandes (INCLUDE, for PostgreSQL) are plain indexes on SQLite,
    # which is what the embedded default needs: no warning at every start of `make run`.
    SILENCED_SYSTEM_CHECKS.append("models.W040")

# --- Demandes -------------------------------------------------------------------------------
ATTACHMENTS_MAX_FILES = env.int("ATTACHMENTS_MAX_FILES", default=5)
ATTACHMENTS_MAX_SIZE_MB = env.int("ATTACHMENTS_MAX_SIZE_MB", default=10)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # form fields; files go to FILE_UPLOAD_* below
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# ClamAV's clamd: a Unix socket, or a host and port. Without either, files are not scanned, and
# so refused, unless UPLOADS_WITHOUT_ANTIVIRUS=true: the default with DEBUG=true (`make run`), an
# explicit choice otherwise, which `check --deploy` warns about (demandes.W001).
CLAMD_SOCKET = env.str("CLAMD_SOCKET", default="")
CLAMD_HOST = env.str("CLAMD_HOST", default="")
CLAMD_PORT = env.int("CLAMD_PORT", default=3310)
CLAMD_TIMEOUT = env.int("CLAMD_TIMEOUT", default=30)
UPLOADS_WITHOUT_ANTIVIRUS = env.bool("UPLOADS_WITHOUT_ANTIVIRUS", default=DEBUG)
# The partner reads "prise en charge par votre organisme" on a demande an agent handles; true
# shows the agent's name instead, for a fund that chooses so (SPEC §10).
SHOW_AGENT_NAME_TO_PARTNERS = env.bool("SHOW_AGENT_NAME_TO_PARTNERS", default=False)

# --- E-mail ---------------------------------------------------------------------------------
# MAILER=local (default): every e-mail printed on the console and written to EMAIL_FILE_DIR.
# MAILER=smtp: EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS.
# MAILER=anymail: ANYMAIL_ESP (brevo, mailjet, sendgrid, …) and ANYMAIL_API_KEY.
# django-environ has no helper for Django 6.1's MAILERS setting, hence this block.
MAILER = env.str("MAILER", default="local")
if MAILER == "local":
    MAILERS = {
        "default": {
            "BACKEND": "notifications.backends.ConsoleAndFileBackend",
            "OPTIONS": {
                "file_path": str(env.path("EMAIL_FILE_DIR", default=str(VAR_DIR / "emails")))
            },
        }
    }
elif MAILER == "smtp":
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": env.str("EMAIL_HOST"),
                "port": env.int("EMAIL_PORT", default=587),
                "username": env.str("EMAIL_HOST_USER", default=""),
                "password": env.str("EMAIL_HOST_PASSWORD", default=""),
                "use_tls": env.bool("EMAIL_USE_TLS", default=True),
                "timeout": env.int("EMAIL_TIMEOUT", default=20),
            },
        }
    }
elif MAILER == "anymail":
    MAILERS = {
        "default": {
            "BACKEND": f"anymail.backends.{env.str('ANYMAIL_ESP')}.EmailBackend",
            "OPTIONS": {"api_key": env.str("ANYMAIL_API_KEY")},
        }
    }
else:
    raise environ.ImproperlyConfigured(f"MAILER={MAILER!r}: expected local, smtp or anymail.")
# anymail's tracking webhooks (bounces, complaints) authenticate with HTTP basic auth:
# "user:password", also given to the e-mail provider in the webhook's address.
ANYMAIL = {"WEBHOOK_SECRET": env.str("ANYMAIL_WEBHOOK_SECRET", default="")}
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="Espace Partenaires <ne-pas-repondre@espace-partenaires.local>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery ---------------------------------------------------------------------------------
# Without REDIS_URL (read with the cache above), Celery uses kombu's filesystem transport in
# var/celery: no server needed.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://localhost//")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # All of the transport's state under var/: its messages, and its exchange tables, which
    # kombu would otherwise write to ./control, in the checkout.
    _broker_dir = VAR_DIR / "celery" / "broker"
    _broker_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "control_folder": str(VAR_DIR / "celery" / "control"),
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker keeps trying to reach the broker (every 2, 4, 6 … s, 30 s at most) for as long as it
# is down, rather than stopping after 100 tries (about 46 minutes): the outbox waits for it.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celery" / "beat-schedule")
CELERY_TIMEZONE = TIME_ZONE
# Daily jobs, "HH:MM" in Europe/Paris.
JOB_TIME_PURGE_INVITATIONS = env.str("JOB_TIME_PURGE_INVITATIONS", default="03:00")
JOB_TIME_CONVENTION_END = env.str("JOB_TIME_CONVENTION_END", default="01:00")
JOB_TIME_CONVENTION_WARNING = env.str("JOB_TIME_CONVENTION_WARNING", default="07:00")
JOB_TIME_PURGE_ACCOUNTS = env.str("JOB_TIME_PURGE_ACCOUNTS", default="02:00")
JOB_TIME_PASSWORD_REMINDER = env.str("JOB_TIME_PASSWORD_REMINDER", default="07:30")
JOB_TIME_PURGE_EMAIL_LOG = env.str("JOB_TIME_PURGE_EMAIL_LOG", default="03:30")
JOB_TIME_PURGE_INSCRIPTIONS = env.str("JOB_TIME_PURGE_INSCRIPTIONS", default="03:45")
JOB_TIME_PURGE_SESSIONS = env.str("JOB_TIME_PURGE_SESSIONS", default="04:00")
JOB_TIME_HABILITATION_REVIEWS = env.str("JOB_TIME_HABILITATION_REVIEWS", default="06:15")
JOB_TIME_DORMANT_WARNING = env.str("JOB_TIME_DORMANT_WARNING", default="06:45")
JOB_TIME_DORMANT_INACTIVATION = env.str("JOB_TIME_DORMANT_INACTIVATION", default="01:15")
JOB_TIME_PURGE_ACCESS_LOG = env.str("JOB_TIME_PURGE_ACCESS_LOG", default="03:40")
JOB_TIME_ANONYMISE_DEMANDES = env.str("JOB_TIME_ANONYMISE_DEMANDES", default="02:15")
# The agents' daily digest of what arrived (issue 18, item 1), before their day starts.
JOB_TIME_DIGEST = env.str("JOB_TIME_DIGEST", default="07:40")
# The e-mail outbox (docs/reliability.md): the sweeper publishes again, every minute, a row still
# pending this many seconds after it was written; a failed attempt waits BACKOFF × 2^(n-1) seconds
# (an hour at most) before the next, and the row fails for good after MAX_ATTEMPTS; a worker's
# claim on a row lapses after LEASE seconds (a worker killed while sending).
EMAIL_SWEEP_DELAY_SECONDS = env.int("EMAIL_SWEEP_DELAY_SECONDS", default=60)
EMAIL_RETRY_BACKOFF_SECONDS = env.int("EMAIL_RETRY_BACKOFF_SECONDS", default=60)
EMAIL_MAX_ATTEMPTS = env.int("EMAIL_MAX_ATTEMPTS", default=5)
EMAIL_SEND_LEASE_SECONDS = env.int("EMAIL_SEND_LEASE_SECONDS", default=300)
# Days before a password expires when its owner is reminded (once per password).
PASSWORD_EXPIRY_REMINDER_DAYS = env.int("PASSWORD_EXPIRY_REMINDER_DAYS", default=15)
# Months the sent-e-mail log is kept.
EMAIL_LOG_RETENTION_MONTHS = env.int("EMAIL_LOG_RETENTION_MONTHS", default=12)
# Months pré-inscriptions are kept after their decision (pending ones: after their receipt) and
# contact messages after their receipt.
INSCRIPTION_RETENTION_MONTHS = env.int("INSCRIPTION_RETENTION_MONTHS", default=12)
# Months between two 'Revue des habilitations' of a structure (SPEC §10): its gestionnaires are
# asked by e-mail, and the fund's admin shows the structures whose review is late.
HABILITATION_REVIEW_MONTHS = env.int("HABILITATION_REVIEW_MONTHS", default=6)
# A partner account without a log-in for DORMANT_ACCOUNT_MONTHS is warned by e-mail, then
# inactivated DORMANT_NOTICE_DAYS later unless it logs in (never a structure's last active
# gestionnaire: the fund's referent is told instead).
DORMANT_ACCOUNT_MONTHS = env.int("DORMANT_ACCOUNT_MONTHS", default=6)
DORMANT_NOTICE_DAYS = env.int("DORMANT_NOTICE_DAYS", default=15)
# Months the access log (who among the fund's staff read which demande, downloaded which file,
# exported what) is kept: SPEC §10 says 12.
ACCESS_LOG_RETENTION_MONTHS = env.int("ACCESS_LOG_RETENTION_MONTHS", default=12)

# --- Backups (espace_partenaires.backups, docs/operations.md) ---------------------------------
# Where `manage.py backup` writes its archives (0600, in a 0700 folder: they hold personal data),
# how many of the newest it keeps, and the daily time of docker-compose.yml's backup service.
BACKUP_DIR = Path(env.str("BACKUP_DIR", default=str(VAR_DIR / "backups")))
BACKUP_KEEP = env.int("BACKUP_KEEP", default=14)
BACKUP_TIME = env.str("BACKUP_TIME", default="00:30")

# --- Logging --------------------------------------------------------------------------------
# LOG_FORMAT=json: one JSON object a line (time, level, logger, message, request_id, user_id;
# method, path, status, duration_ms for a request's completion line), what a log collector
# reads: the default in production (DEBUG=false). text: one readable line, the default with
# DEBUG=true. Every line carries the request's id (X-Request-ID, also given to the Celery tasks
# the request schedules) and holds no personal data (core/logs.py, docs/operations.md).
LOG_FORMAT = env.str("LOG_FORMAT", default=logs.default_format(debug=DEBUG))
LOGGING = logs.logging_config(LOG_FORMAT, env.str("LOG_LEVEL", default="INFO"))

# --- Error reports --------------------------------------------------------------------------
# Unexpected errors of the web and of the tasks sent to Sentry (or a compatible service:
# GlitchTip…) when SENTRY_DSN is set; off, and sentry_sdk not even imported, when it is empty
# (the default). Nothing personal is sent (core/error_reports.py): no cookies, request bodies,
# query strings, local variables, demande fields, NIRs nor e-mail addresses.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="development" if DEBUG else "production")
# The version deployed (a tag or a commit), to tell which release an error appeared in.
SENTRY_RELEASE = env.str("SENTRY_RELEASE", default="")
# Share of requests and tasks traced for performance (0, the default: errors only).
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
if SENTRY_DSN:
    from core import error_reports

    error_reports.start(
        dsn=SENTRY_DSN,
        environment=SENTRY_ENVIRONMENT,
        release=SENTRY_RELEASE,
        traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
    )
