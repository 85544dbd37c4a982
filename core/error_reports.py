"""Optional error reports to Sentry (issue 21, item 5; docs/operations.md, "Errors").

Off unless SENTRY_DSN is set: settings.py then calls `start()`, the only place sentry_sdk is
imported, so that a portal without it neither loads nor patches anything. With it, an unexpected
error of a view (Django integration) or of a task (Celery integration) is sent with its
traceback, release and environment, the request id and the user id as tags, and nothing
personal:

- send_default_pii=False: no cookies, no user's name or address, no client address;
- no local variables in the frames (they hold demandes, forms, contexts of e-mails), no request
  body (max_request_body_size="never");
- `scrub`, before every event and breadcrumb: the request's query string, cookies, body and
  environment go, its headers but a few plain ones; any value under a key that names a field of
  a person (the demande's identity and texts, e-mails, messages, notes) is replaced; any string
  that looks like a NIR or holds an e-mail address is masked (core.logs.redact).
"""

from collections.abc import Mapping
from typing import Any

from core.logs import current_request_id, current_user_id, looks_personal, masked_path, redact

FILTERED = "[Filtered]"
# Keys whose values are a person's data, wherever they appear in an event (form data, a task's
# arguments, an extra, a breadcrumb's data): the demande's identity and free texts, accounts'
# names and addresses, messages, notes, e-mails and their contexts.
PERSONAL_KEYS = frozenset(
    {
        "nom",
        "prenom",
        "nom_usuel",
        "nom_patronymique",
        "civilite",
        "date_naissance",
        "commentaire",
        "texte",
        "reponse",
        "note",
        "motif_refus",
        "email",
        "recipient",
        "reply_to",
        "to",
        "cc",
        "bcc",
        "body",
        "context",
        "pieces",
        "username",
        "password",
        "identifiant",
        "telephone",
        "adresse",
        "fonction",
        "args",
        "kwargs",
        "data",
        "cookies",
        "query_string",
    }
)
# The request's headers an operator needs; the others (cookies, referer holding a query string,
# forwarded addresses) go.
KEPT_HEADERS = frozenset({"host", "content-type", "content-length", "x-request-id"})
# Strings of an event that describe the code, never a person: left alone even when long.
_CODE_KEYS = frozenset(
    {
        "filename",
        "abs_path",
        "module",
        "function",
        "package",
        "context_line",
        "pre_context",
        "post_context",
    }
)


def _scrubbed(value: Any, key: str = "") -> Any:
    if key.lower() in PERSONAL_KEYS and value not in (None, "", [], {}):
        return FILTERED
    if isinstance(value, Mapping):
        return {k: _scrubbed(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrubbed(item, key) for item in value]
    if isinstance(value, str) and key not in _CODE_KEYS and looks_personal(value):
        return redact(value)
    return value


def scrub(event: dict, hint: dict | None = None) -> dict:
    """Sentry's before_send and before_send_transaction."""
    request = event.get("request")
    if isinstance(request, dict):
        for name in ("data", "cookies", "query_string", "env"):
            request.pop(name, None)
        headers = request.get("headers") or {}
        request["headers"] = {k: v for k, v in headers.items() if k.lower() in KEPT_HEADERS}
        url = request.get("url")
        if isinstance(url, str):
            base, _, path = url.partition("://")
            host, slash, path = path.partition("/")
            request["url"] = f"{base}://{host}{masked_path(slash + path.split('?')[0])}"
    if "exception" in event or "message" in event or "logentry" in event:
        tags = event.setdefault("tags", {})
        if (request_id := current_request_id()) and isinstance(tags, dict):
            tags.setdefault("request_id", request_id)
        if (user_id := current_user_id()) and isinstance(tags, dict):
            tags.setdefault("user_id", str(user_id))
    event.pop("user", None)
    extra = event.get("extra")
    if isinstance(extra, dict) and isinstance(extra.get("sys.argv"), list):
        # The program and its command (gunicorn, celery worker, manage.py <command>): what an
        # operator typed after them may be anything.
        extra["sys.argv"] = extra["sys.argv"][:2]
    return _scrubbed(event)


def scrub_breadcrumb(crumb: dict, hint: dict | None = None) -> dict:
    return _scrubbed(crumb)


def start(*, dsn: str, environment: str, release: str, traces_sample_rate: float) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        before_send=scrub,
        before_send_transaction=scrub,  # the traces, when SENTRY_TRACES_SAMPLE_RATE > 0
        before_breadcrumb=scrub_breadcrumb,
        traces_sample_rate=traces_sample_rate,
    )
